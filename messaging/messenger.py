"""Facebook Messenger (Meta's Send API), in the style of Rasa's `facebook` channel.

Inbound: `GET /webhooks/messenger/webhook` answers Meta's verify handshake (hub.mode=subscribe,
hub.verify_token = MESSENGER_VERIFY_TOKEN, echoing hub.challenge; 403 otherwise), and
`POST /webhooks/messenger/webhook` takes page events signed with `X-Hub-Signature-256`
(HMAC-SHA256 of the body with the app secret; Rasa's channel checks the older SHA-1 header).
Text, quick-reply taps and postbacks go to the bot; attachments (images, stickers, audio, video,
files, locations) get the polite non-text reply. Echoes, deliveries and reads are skipped.
Outbound: `POST {MESSENGER_API_URL}/me/messages` with the page token as a Bearer header,
`messaging_type` RESPONSE, 2,000 characters per text, 13 quick replies of 20 characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from messaging.contacts import Contact
from messaging.formatting import Limits, Outgoing
from messaging.platform import Delivery, Inbound, Platform, Request
from messaging.signatures import meta_signature_valid

# Meta's answer when the standard messaging window has closed.
WINDOW_ERROR_SUBCODES = frozenset({2018278, 2018065})


class MessengerPlatform(Platform):
    name = "messenger"
    label = "Messenger"
    limits = Limits(text_chars=2000, quick_replies=13, quick_reply_chars=20)

    def verified(self, request: Request) -> bool:
        return meta_signature_valid(self.settings.messenger_app_secret, request.body,
                                    request.headers.get("x-hub-signature-256"))

    def inbound(self, request: Request) -> list[Inbound]:
        body = json.loads(request.body or b"{}")
        if body.get("object") != "page":
            return []
        found: list[Inbound] = []
        for entry in body.get("entry") or []:
            for event in (entry or {}).get("messaging") or []:
                item = _inbound(event) if isinstance(event, dict) else None
                if item is not None:
                    found.append(item)
        return found

    def send(self, contact: Contact, messages: Sequence[Outgoing], *,
             reply_token: str | None = None) -> Delivery:
        address = contact.address()
        if address is None:
            return Delivery(0, "the customer's Messenger id cannot be unsealed")
        url = f"{self.settings.messenger_api_url.rstrip('/')}/me/messages"
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {self.settings.messenger_page_token}"}
        sent = 0
        for message in messages:
            content: dict[str, Any] = {"text": message.text}
            if message.quick_replies:
                content["quick_replies"] = [
                    {"content_type": "text", "title": choice.title, "payload": choice.payload}
                    for choice in message.quick_replies]
            payload = {"recipient": {"id": address}, "messaging_type": "RESPONSE",
                       "message": content}
            status, answer = self.post(url, json.dumps(payload).encode(), headers)
            if status != 200:
                error = (answer or {}).get("error") if isinstance(answer, dict) else None
                subcode = (error or {}).get("error_subcode")
                return Delivery(sent, f"Messenger answered HTTP {status} "
                                      f"(code {(error or {}).get('code')}, subcode {subcode})",
                                window_closed=subcode in WINDOW_ERROR_SUBCODES)
            sent += 1
        return Delivery(sent)


def _inbound(event: dict[str, Any]) -> Inbound | None:
    user = str((event.get("sender") or {}).get("id") or "")
    if not user:
        return None
    postback = event.get("postback")
    if isinstance(postback, dict) and postback.get("payload"):
        return Inbound(user, text=str(postback["payload"]),
                       message_id=str(postback.get("mid") or "") or None)
    message = event.get("message")
    if not isinstance(message, dict) or message.get("is_echo"):
        return None
    seen = str(message.get("mid") or "") or None
    quick = message.get("quick_reply")
    if isinstance(quick, dict) and quick.get("payload"):
        return Inbound(user, text=str(quick["payload"]), message_id=seen)
    text = message.get("text")
    if isinstance(text, str) and text.strip():  # a link's preview comes as an attachment too
        return Inbound(user, text=text, message_id=seen)
    attachments = message.get("attachments") or []
    if attachments or message.get("sticker_id"):
        first = attachments[0] if attachments and isinstance(attachments[0], dict) else {}
        kind = "sticker" if message.get("sticker_id") else str(first.get("type") or "other")
        if kind == "audio":
            kind = "voice"
        return Inbound(user, kind=kind if kind in _KNOWN else "other",
                       details=_details(first), message_id=seen)
    return None


_KNOWN = frozenset({"image", "sticker", "voice", "video", "file", "location"})


def _details(attachment: dict[str, Any]) -> str:
    payload = attachment.get("payload") or {}
    if not isinstance(payload, dict):
        return ""
    if payload.get("coordinates"):
        point = payload["coordinates"]
        return f"location {point.get('lat')}, {point.get('long')}"
    return str(payload.get("url") or "")[:500]
