"""Reading each platform's webhook: text, quick-reply and postback payloads, non-text kinds
with what the record keeps, message ids for redeliveries, and what is skipped."""

from __future__ import annotations

import json
import urllib.parse

from messaging.line import LinePlatform
from messaging.messenger import MessengerPlatform
from messaging.platform import Request
from messaging.settings import MessagingSettings
from messaging.whatsapp import WhatsAppPlatform


def test_messenger_reads_text_quick_replies_attachments_and_skips_echoes() -> None:
    def events(*messaging: dict[str, object]) -> Request:
        body = json.dumps({"object": "page", "entry": [{"id": "P", "messaging": list(messaging)}]})
        return Request(url="", body=body.encode(), headers={}, form={})

    user = {"sender": {"id": "42"}}
    found = MessengerPlatform(MessagingSettings()).inbound(events(
        {**user, "message": {"mid": "m1", "text": "hej"}},
        {**user, "message": {"mid": "m2", "text": "Ja", "quick_reply": {"payload": "/affirm"}}},
        {**user, "message": {"mid": "m3", "text": "see https://x.example", "attachments": [
            {"type": "fallback", "payload": {"url": "https://x.example"}}]}},
        {**user, "message": {"mid": "m4", "attachments": [
            {"type": "location", "payload": {"coordinates": {"lat": 59.3, "long": 18.1}}}]}},
        {**user, "message": {"mid": "m5", "sticker_id": 369239263222822,
                             "attachments": [{"type": "image", "payload": {"url": "u"}}]}},
        {**user, "message": {"mid": "m6", "is_echo": True, "text": "our own"}},
        {**user, "postback": {"mid": "m7", "payload": "/request_human", "title": "Talk"}},
        {**user, "read": {"watermark": 1}}))
    assert [(i.text, i.kind, i.message_id) for i in found] == [
        ("hej", None, "m1"), ("/affirm", None, "m2"), ("see https://x.example", None, "m3"),
        (None, "location", "m4"), (None, "sticker", "m5"), ("/request_human", None, "m7")]
    assert found[3].details == "location 59.3, 18.1"



def test_line_reads_text_postbacks_and_media_with_their_reply_tokens() -> None:
    def event(kind: str, **fields: object) -> dict[str, object]:
        return {"type": kind, "replyToken": f"rt-{kind}", "webhookEventId": f"ev-{len(fields)}",
                "source": {"type": "user", "userId": "U1"}, **fields}

    body = json.dumps({"destination": "Ubot", "events": [
        event("message", message={"id": "1", "type": "text", "text": "你好"}),
        event("postback", postback={"data": "/affirm"}),
        event("message", message={"id": "2", "type": "sticker", "packageId": "446",
                                  "stickerId": "1988"}, x=1),
        event("message", message={"id": "3", "type": "audio"}, x=1, y=2),
        event("follow"),
        {"type": "message", "message": {"type": "text", "text": "no user"}},
    ]}, ensure_ascii=False).encode()
    found = LinePlatform(MessagingSettings()).inbound(Request("", body, {}, {}))
    assert [(i.user_id, i.text, i.kind, i.reply_token) for i in found] == [
        ("U1", "你好", None, "rt-message"), ("U1", "/affirm", None, "rt-postback"),
        ("U1", None, "sticker", "rt-message"), ("U1", None, "voice", "rt-message")]
    assert found[2].details == "sticker 446/1988"


def test_whatsapp_reads_text_media_and_locations_from_twilios_form() -> None:
    platform = WhatsAppPlatform(MessagingSettings())

    def read(**form: str) -> list[tuple[str | None, str | None, str]]:
        fields = {"From": "whatsapp:+46701112233", "MessageSid": "SM1", **form}
        request = Request("", urllib.parse.urlencode(fields).encode(), {}, fields)
        return [(i.text, i.kind, i.user_id) for i in platform.inbound(request)]

    assert read(Body="hej") == [("hej", None, "+46701112233")]
    assert read(Body="", NumMedia="1", MediaContentType0="image/jpeg") == [
        (None, "image", "+46701112233")]
    assert read(NumMedia="1", MediaContentType0="image/webp")[0][1] == "sticker"
    assert read(NumMedia="1", MediaContentType0="audio/ogg")[0][1] == "voice"
    assert read(NumMedia="1", MediaContentType0="application/pdf")[0][1] == "file"
    assert read(Latitude="59.3", Longitude="18.0")[0][1] == "location"
    assert read(Body="") == []  # nothing to answer (a reaction, say)
    assert read(Body="hej", From="+46701112233") == []  # SMS, not WhatsApp
    assert read(Body="hej", From="whatsapp:anonymous") == []
