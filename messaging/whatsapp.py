"""WhatsApp through Twilio's Messaging API, in the style of Rasa's `twilio` channel.

Inbound: `POST /webhooks/whatsapp/webhook`, Twilio's form post, signed with
`X-Twilio-Signature` (twilio's RequestValidator over the URL Twilio called and the form; Rasa's
channel checks none). The URL is MESSAGING_PUBLIC_URL + the path when set (behind a proxy),
else the request's own URL. The sender's number (`From: whatsapp:+46...`) is proven by
WhatsApp: it goes to the bot in E.164, sealed (metadata `phone`), as the ownership factor for
orders whose customer has that phone (nordvik.phones, actions.verification.channel_phone).
Media (images, voice notes, stickers, video, documents) and locations get the polite non-text
reply.
Outbound: `POST {TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth,
1,600 characters per message. A free-form message has no quick replies: buttons become a
numbered list, and the customer answers with the number.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Sequence
from typing import Any

from messaging.contacts import Contact
from messaging.formatting import Limits, Outgoing
from messaging.platform import Delivery, Inbound, Platform, Request
from messaging.signatures import twilio_signature_valid
from nordvik.phones import normalize_phone
from nordvik.secrets import seal

PREFIX = "whatsapp:"
# The key actions.verification.channel_phone reads (WhatsApp is one of its proving channels),
# sealed for its purpose: the tracker store keeps every message's metadata.
PHONE_METADATA = "phone"
PHONE_PURPOSE = "phone"
# Twilio's error for a free-form message outside the 24-hour window.
WINDOW_ERROR_CODES = frozenset({63016})


def _kind(form: dict[str, str]) -> str | None:
    if form.get("Latitude") and form.get("Longitude"):
        return "location"
    try:
        media = int(form.get("NumMedia") or "0")
    except ValueError:
        media = 0
    if media <= 0:
        return None
    content = (form.get("MediaContentType0") or "").lower()
    if content == "image/webp":
        return "sticker"
    for prefix, kind in (("image/", "image"), ("audio/", "voice"), ("video/", "video")):
        if content.startswith(prefix):
            return kind
    return "file"


class WhatsAppPlatform(Platform):
    name = "whatsapp"
    label = "WhatsApp"
    limits = Limits(text_chars=1600, quick_replies=0)

    def signed_url(self, request: Request) -> str:
        if not self.settings.public_url:
            return request.url
        path = urllib.parse.urlsplit(request.url)
        query = f"?{path.query}" if path.query else ""
        return f"{self.settings.public_url.rstrip('/')}{path.path}{query}"

    def verified(self, request: Request) -> bool:
        return twilio_signature_valid(self.settings.twilio_auth_token, self.signed_url(request),
                                      request.form, request.headers.get("x-twilio-signature"))

    def inbound(self, request: Request) -> list[Inbound]:
        form = dict(request.form)
        sender = form.get("From") or ""
        if not sender.startswith(PREFIX):
            return []
        phone = normalize_phone(sender[len(PREFIX):], region=None)
        if phone is None:
            return []
        metadata = {PHONE_METADATA: seal(phone, purpose=PHONE_PURPOSE)}
        seen = form.get("MessageSid") or None
        kind = _kind(form)
        if kind is not None:
            details = (f"location {form.get('Latitude')}, {form.get('Longitude')}"
                       if kind == "location" else str(form.get("MediaUrl0") or "")[:500])
            return [Inbound(phone, kind=kind, details=details, metadata=metadata,
                            message_id=seen)]
        text = form.get("ButtonPayload") or form.get("Body") or ""
        if not text.strip():
            return []
        return [Inbound(phone, text=text, metadata=metadata, message_id=seen)]

    def webhook_answer(self) -> tuple[str, str]:
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>", "text/xml"

    def send(self, contact: Contact, messages: Sequence[Outgoing], *,
             reply_token: str | None = None) -> Delivery:
        address = contact.address()
        if address is None:
            return Delivery(0, "the customer's WhatsApp number cannot be unsealed")
        s = self.settings
        url = (f"{s.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/"
               f"{urllib.parse.quote(s.twilio_account_sid)}/Messages.json")
        credentials = base64.b64encode(
            f"{s.twilio_account_sid}:{s.twilio_auth_token}".encode()).decode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Authorization": f"Basic {credentials}"}
        sent = 0
        for message in messages:
            body = urllib.parse.urlencode({"To": PREFIX + address, "From": s.twilio_whatsapp_from,
                                           "Body": message.text}).encode()
            status, answer = self.post(url, body, headers)
            if status not in (200, 201):
                code = answer.get("code") if isinstance(answer, dict) else None
                return Delivery(sent, f"Twilio answered HTTP {status} (error {code})",
                                window_closed=_int(code) in WINDOW_ERROR_CODES)
            sent += 1
        return Delivery(sent)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
