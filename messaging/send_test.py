"""Try the messaging channels locally: a signed webhook per platform to the running Rasa server,
and what the bot would send back.

    .venv/bin/python -m messaging.send_test "where is my order A10001?"
    .venv/bin/python -m messaging.send_test --platform line --user U123 "我的訂單到哪了？"
    .venv/bin/python -m messaging.send_test --platform whatsapp --user +46701112233 --image

It signs each webhook with the channel's own secret from the environment (the same variables the
Rasa server reads; a channel without them is skipped and the script says why), posts it to
RASA_URL (default http://127.0.0.1:5005) and prints the bot's replies to that message, read from
the conversation through Rasa's API (RASA_TOKEN, else var/secrets/rasa_token; e-mail addresses
are stored masked there, so they print as [e-mail]). The replies themselves went to the
platform's API (TWILIO_API_URL, MESSENGER_API_URL, LINE_API_URL).

The builders (`whatsapp_webhook`, `messenger_webhook`, `line_webhook`) are what the platforms
send; the tests use them too.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from handoff.relay import HandoffSettings
from messaging.contacts import conversation_id_for
from messaging.settings import PLATFORMS, MessagingSettings
from messaging.signatures import line_signature, meta_signature, twilio_signature

DEFAULT_USERS = {"whatsapp": "+46701112233", "messenger": "1000000000000001",
                 "line": "U0123456789abcdef0123456789abcdef"}


@dataclass(frozen=True)
class Webhook:
    path: str
    body: bytes
    headers: dict[str, str]


def whatsapp_webhook(settings: MessagingSettings, base_url: str, phone: str,
                     text: str | None = None, media: str | None = None) -> Webhook:
    """Twilio's form post for a WhatsApp message from `phone` (E.164): text, or one medium
    ("image/jpeg", "audio/ogg", ...; "location" for a location)."""
    path = "/webhooks/whatsapp/webhook"
    form = {"MessageSid": f"SM{time.time_ns():032d}",
            "AccountSid": settings.twilio_account_sid, "From": f"whatsapp:{phone}",
            "To": settings.twilio_whatsapp_from, "Body": text or "", "NumMedia": "0"}
    if media == "location":
        form.update(Latitude="59.3293", Longitude="18.0686")
    elif media:
        form.update(NumMedia="1", MediaContentType0=media,
                    MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/1")
    url = f"{(settings.public_url or base_url).rstrip('/')}{path}"
    signature = twilio_signature(settings.twilio_auth_token, url, form)
    return Webhook(path, urllib.parse.urlencode(form).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": signature})


def messenger_webhook(settings: MessagingSettings, psid: str, text: str | None = None,
                      attachment: str | None = None, payload: str | None = None) -> Webhook:
    message: dict[str, Any] = {"mid": f"m_{time.time_ns()}"}
    if attachment:
        message["attachments"] = [{"type": attachment,
                                   "payload": {"url": "https://scontent.example/1.jpg"}}]
    else:
        message["text"] = text or ""
    if payload:
        message["quick_reply"] = {"payload": payload}
    body = json.dumps({"object": "page", "entry": [{"id": "PAGE", "time": int(time.time()),
                       "messaging": [{"sender": {"id": psid}, "recipient": {"id": "PAGE"},
                                      "timestamp": int(time.time() * 1000),
                                      "message": message}]}]}).encode()
    return Webhook("/webhooks/messenger/webhook", body,
                   {"Content-Type": "application/json",
                    "X-Hub-Signature-256": meta_signature(settings.messenger_app_secret, body)})


def line_webhook(settings: MessagingSettings, user_id: str, text: str | None = None,
                 kind: str | None = None, postback: str | None = None,
                 reply_token: str | None = None) -> Webhook:
    event: dict[str, Any] = {"replyToken": reply_token or f"rt{time.time_ns()}",
                             "source": {"type": "user", "userId": user_id},
                             "timestamp": int(time.time() * 1000), "mode": "active",
                             "webhookEventId": f"ev{time.time_ns()}"}
    if postback:
        event.update(type="postback", postback={"data": postback})
    elif kind:
        message: dict[str, Any] = {"id": "4711", "type": kind}
        if kind == "sticker":
            message.update(packageId="446", stickerId="1988")
        event.update(type="message", message=message)
    else:
        event.update(type="message", message={"id": "4711", "type": "text", "text": text or ""})
    body = json.dumps({"destination": "Ubot", "events": [event]}, ensure_ascii=False).encode()
    return Webhook("/webhooks/line/webhook", body,
                   {"Content-Type": "application/json",
                    "X-Line-Signature": line_signature(settings.line_channel_secret, body)})


def post(base_url: str, hook: Webhook, timeout: float = 120.0) -> tuple[int, str]:
    request = urllib.request.Request(base_url.rstrip("/") + hook.path, data=hook.body,
                                     method="POST", headers=hook.headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return int(answer.status), answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode(errors="replace")


def bot_replies_since(base_url: str, token: str, conversation: str, since: float) -> list[str]:
    query = urllib.parse.urlencode({"token": token})
    url = (f"{base_url.rstrip('/')}/conversations/{urllib.parse.quote(conversation)}/tracker"
           f"?{query}")
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - the local server
        events = json.loads(answer.read()).get("events") or []
    return [str(e.get("text")) for e in events
            if e.get("event") == "bot" and e.get("text") and float(e["timestamp"]) >= since]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text", nargs="?", default="Hello! What are your opening hours?")
    parser.add_argument("--platform", choices=("all", *PLATFORMS), default="all")
    parser.add_argument("--user", help="the platform's user id (WhatsApp: +E.164)")
    parser.add_argument("--image", action="store_true", help="send an image instead of text")
    args = parser.parse_args(argv)
    settings, rasa = MessagingSettings.from_env(), HandoffSettings.from_env()
    for platform in PLATFORMS if args.platform == "all" else (args.platform,):
        off = settings.off_reason(platform)
        if off:
            print(f"{platform}: off ({off})")
            continue
        user = args.user or DEFAULT_USERS[platform]
        if platform == "whatsapp":
            hook = whatsapp_webhook(settings, rasa.rasa_url, user, args.text,
                                    "image/jpeg" if args.image else None)
        elif platform == "messenger":
            hook = messenger_webhook(settings, user, args.text,
                                     "image" if args.image else None)
        else:
            hook = line_webhook(settings, user, args.text, "image" if args.image else None)
        started = time.time() - 1
        status, body = post(rasa.rasa_url, hook)
        print(f"{platform}: webhook answered HTTP {status}")
        if status != 200:
            print(f"  {body[:300]}")
            continue
        conversation = conversation_id_for(platform, user)
        for reply in bot_replies_since(rasa.rasa_url, rasa.rasa_token, conversation, started):
            print(f"  bot: {reply}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
