"""Webhook signatures of the three platforms and Meta's verify handshake."""

from __future__ import annotations

import base64
import hashlib
import hmac

from twilio.request_validator import RequestValidator

from messaging.signatures import (
    line_signature,
    line_signature_valid,
    meta_signature,
    meta_signature_valid,
    meta_verify_challenge,
    twilio_signature,
    twilio_signature_valid,
)

URL = "https://bot.nordvik.example/webhooks/whatsapp/webhook"
FORM = {"From": "whatsapp:+46701112233", "Body": "hej", "NumMedia": "0"}


def test_twilio_signature_is_twilios_own() -> None:
    signature = twilio_signature("token", URL, FORM)
    assert RequestValidator("token").validate(URL, FORM, signature)
    assert twilio_signature_valid("token", URL, FORM, signature)


def test_twilio_refuses_forged_unsigned_and_changed_requests() -> None:
    signature = twilio_signature("token", URL, FORM)
    assert not twilio_signature_valid("token", URL, FORM, None)
    assert not twilio_signature_valid("token", URL, FORM, "")
    assert not twilio_signature_valid("other", URL, FORM, signature)
    assert not twilio_signature_valid("token", URL, {**FORM, "Body": "hack"}, signature)
    assert not twilio_signature_valid("token", URL + "?x=1", FORM, signature)
    assert not twilio_signature_valid("", URL, FORM, twilio_signature("", URL, FORM))


def test_meta_signature_is_sha256_of_the_body() -> None:
    body = b'{"object":"page"}'
    expected = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert meta_signature("secret", body) == expected
    assert meta_signature_valid("secret", body, expected)
    assert not meta_signature_valid("secret", body + b" ", expected)
    assert not meta_signature_valid("secret", body, None)
    sha1 = "sha1=" + hmac.new(b"secret", body, hashlib.sha1).hexdigest()
    assert not meta_signature_valid("secret", body, sha1)  # the older header is not enough
    assert not meta_signature_valid("", body, meta_signature("", body))


def test_line_signature_is_base64_hmac_sha256() -> None:
    body = '{"events":[{"message":{"text":"訂單"}}]}'.encode()
    expected = base64.b64encode(hmac.new(b"chan", body, hashlib.sha256).digest()).decode()
    assert line_signature("chan", body) == expected
    assert line_signature_valid("chan", body, expected)
    assert not line_signature_valid("chan", body, expected[:-2] + "AA")
    assert not line_signature_valid("other", body, expected)
    assert not line_signature_valid("chan", body, None)
    assert not line_signature_valid("", body, line_signature("", body))


def test_meta_verify_handshake() -> None:
    good = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}
    assert meta_verify_challenge(good, "vt") == "1158201444"
    assert meta_verify_challenge({**good, "hub.verify_token": "nope"}, "vt") is None
    assert meta_verify_challenge({**good, "hub.mode": "unsubscribe"}, "vt") is None
    assert meta_verify_challenge({**good, "hub.challenge": ""}, "vt") is None
    assert meta_verify_challenge(good, "") is None
