"""LINE (Messaging API), called over HTTP directly (no line-bot-sdk).

Inbound: `POST /webhooks/line/webhook`, signed with `X-Line-Signature` (base64 HMAC-SHA256 of
the body with the channel secret). Text messages and postbacks (quick-reply taps) go to the bot;
images, stickers, audio, video, files and locations get the polite non-text reply.
Outbound: `POST {LINE_API_URL}/v2/bot/message/reply` with the event's reply token while it is
fresh (LINE_REPLY_TOKEN_SECONDS, it is short-lived and used once), else `/v2/bot/message/push`:
a late agent reply always goes as a push. At most 5 messages per call, 5,000 characters per
text, 13 quick replies of at most 20 characters (postback actions carrying the button payload).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from messaging.contacts import Contact
from messaging.formatting import Limits, Outgoing
from messaging.platform import Delivery, Inbound, Platform, Request
from messaging.signatures import line_signature_valid

MESSAGES_PER_CALL = 5
_KINDS = {"image": "image", "sticker": "sticker", "audio": "voice", "video": "video",
          "file": "file", "location": "location"}


def _item(message: Outgoing) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "text", "text": message.text}
    if message.quick_replies:
        item["quickReply"] = {"items": [
            {"type": "action", "action": {"type": "postback", "label": choice.title,
                                          "data": choice.payload, "displayText": choice.title}}
            for choice in message.quick_replies]}
    return item


class LinePlatform(Platform):
    name = "line"
    label = "LINE"
    limits = Limits(text_chars=5000, quick_replies=13, quick_reply_chars=20)

    def verified(self, request: Request) -> bool:
        return line_signature_valid(self.settings.line_channel_secret, request.body,
                                    request.headers.get("x-line-signature"))

    def inbound(self, request: Request) -> list[Inbound]:
        body = json.loads(request.body or b"{}")
        found: list[Inbound] = []
        for event in body.get("events") or []:
            if not isinstance(event, dict):
                continue
            user = str((event.get("source") or {}).get("userId") or "")
            if not user:
                continue
            token = event.get("replyToken")
            token = str(token) if token else None
            seen = str(event.get("webhookEventId") or "") or None
            if event.get("type") == "postback":
                data = str((event.get("postback") or {}).get("data") or "")
                if data:
                    found.append(Inbound(user, text=data, reply_token=token, message_id=seen))
                continue
            if event.get("type") != "message":
                continue
            message = event.get("message") or {}
            kind = str(message.get("type") or "")
            if kind == "text":
                found.append(Inbound(user, text=str(message.get("text") or ""),
                                     reply_token=token, message_id=seen))
            else:
                found.append(Inbound(user, kind=_KINDS.get(kind, "other"), reply_token=token,
                                     details=_details(message), message_id=seen))
        return found

    def send(self, contact: Contact, messages: Sequence[Outgoing], *,
             reply_token: str | None = None) -> Delivery:
        address = contact.address()
        if address is None:
            return Delivery(0, "the customer's LINE id cannot be unsealed")
        base = self.settings.line_api_url.rstrip("/")
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {self.settings.line_channel_token}"}
        sent = 0
        for start in range(0, len(messages), MESSAGES_PER_CALL):
            batch = [_item(m) for m in messages[start:start + MESSAGES_PER_CALL]]
            if reply_token and start == 0:
                url, payload = f"{base}/v2/bot/message/reply", {"replyToken": reply_token,
                                                                 "messages": batch}
            else:
                url, payload = f"{base}/v2/bot/message/push", {"to": address, "messages": batch}
            status, answer = self.post(url, json.dumps(payload).encode(), headers)
            if status != 200:
                return Delivery(sent, f"LINE answered HTTP {status} "
                                      f"({_error(answer)})")
            sent += len(batch)
        return Delivery(sent)


def _details(message: dict[str, Any]) -> str:
    if message.get("type") == "location":
        return f"location {message.get('latitude')}, {message.get('longitude')}"
    if message.get("type") == "sticker":
        return f"sticker {message.get('packageId')}/{message.get('stickerId')}"
    return f"LINE message id {message.get('id')} (content through the LINE content API)"


def _error(answer: Any) -> str:
    if isinstance(answer, dict) and answer.get("message"):
        return str(answer["message"])[:200]
    return "no details"
