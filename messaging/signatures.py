"""Checking that an inbound webhook comes from the platform, and the Messenger verify handshake.

    twilio_signature_valid(token, url, form_params, header)   X-Twilio-Signature (twilio's
                                                              RequestValidator: HMAC-SHA1, base64)
    meta_signature_valid(app_secret, body, header)            X-Hub-Signature-256: "sha256=<hex>"
    line_signature_valid(channel_secret, body, header)        X-Line-Signature: base64 HMAC-SHA256
    meta_verify_challenge(query, verify_token)                hub.challenge, or None

Every comparison is in constant time; an empty secret never validates anything. The signing
functions (`meta_signature`, `line_signature`, `twilio_signature`) are what the platforms do:
`python -m messaging.send_test` and the tests sign with them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    return str(RequestValidator(token).compute_signature(url, dict(params)))


def twilio_signature_valid(token: str, url: str, params: Mapping[str, str],
                           header: str | None) -> bool:
    if not token or not header:
        return False
    expected = twilio_signature(token, url, params)
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def meta_signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(meta_signature(app_secret, body).encode(),
                               header.strip().encode())


def line_signature(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def line_signature_valid(channel_secret: str, body: bytes, header: str | None) -> bool:
    if not channel_secret or not header:
        return False
    return hmac.compare_digest(line_signature(channel_secret, body).encode(),
                               header.strip().encode())


def meta_verify_challenge(query: Mapping[str, str], verify_token: str) -> str | None:
    """Meta's subscription check: `hub.mode=subscribe`, our verify token, and the challenge to
    echo back; None (answer 403) for anything else."""
    if not verify_token or query.get("hub.mode") != "subscribe":
        return None
    given = query.get("hub.verify_token") or ""
    challenge = query.get("hub.challenge") or ""
    if not challenge or len(challenge) > 200 or not hmac.compare_digest(
            given.encode(), verify_token.encode()):
        return None
    return challenge
