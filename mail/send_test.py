"""Send a test mail to the running receiver and print the reply.

    python -m mail.send_test --from anna.berg@example.com "Where is my order A10001?"
    python -m mail.send_test --from anna.berg@example.com --subject Reklamation "Trasig lampa"

It talks SMTP to MAIL_HOST:MAIL_PORT (what `make run` starts) and, when replies go to a folder
(SMTP_URL=file:..., the default), waits for the reply to this mail there and prints its text.
With a real SMTP_URL the reply goes to the address given with --from.
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import time
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from mail.settings import MailSettings


def build(sender: str, recipient: str, subject: str, text: str,
          in_reply_to: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain="send-test.invalid")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(text)
    return message


def find_reply(folder: Path, message_id: str, since: float) -> EmailMessage | None:
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.eml")):
        if path.stat().st_mtime < since - 1:
            continue
        reply = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if str(reply.get("In-Reply-To") or "").strip() == message_id:
            return reply  # type: ignore[return-value]
    return None


def main(argv: list[str] | None = None) -> int:
    settings = MailSettings.from_env()
    parser = argparse.ArgumentParser(prog="python -m mail.send_test", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", help="the mail's text")
    parser.add_argument("--from", dest="sender", required=True, help="the customer's address")
    parser.add_argument("--to", default=settings.recipients[0] if settings.recipients and
                        settings.recipients[0] != "*" else "support@nordvik.example")
    parser.add_argument("--subject", default="Question")
    parser.add_argument("--in-reply-to", help="Message-ID of the reply you answer")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the reply")
    args = parser.parse_args(argv)
    message = build(args.sender, args.to, args.subject, args.text, args.in_reply_to)
    started = time.time()
    try:
        with smtplib.SMTP(args.host, args.port, timeout=30) as client:
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        print(f"send_test: the receiver at {args.host}:{args.port} did not take the mail: {exc}"
              " (is `make run` running?)", file=sys.stderr)
        return 1
    print(f"sent {message['Message-ID']} to {args.to} via {args.host}:{args.port}")
    if settings.smtp.scheme != "file" or settings.smtp.directory is None:
        print(f"the reply goes to {args.sender} through {settings.smtp.describe()}")
        return 0
    deadline = started + args.wait
    while time.time() < deadline:
        reply = find_reply(settings.smtp.directory, str(message["Message-ID"]), started)
        if reply is not None:
            body = reply.get_body(preferencelist=("plain",))
            print(f"\nreply {reply['Message-ID']}  Subject: {reply['Subject']}\n")
            print(body.get_content() if body is not None else "(no text part)")
            return 0
        time.sleep(0.5)
    print(f"no reply in {settings.smtp.directory} within {args.wait:.0f} s: a colleague may "
          "have the mail (see the Slack handoff channel and the CRM case), or see "
          "var/run/logs/mail_receiver.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
