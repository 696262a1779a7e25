"""Sending a reply over SMTP (SMTP_URL), and keeping it in the spool's outbox when that fails.

    send_or_queue(message, settings)   -> "sent" | "queued"

`smtp://` uses STARTTLS when the server offers it, `smtps://` TLS from the start; a user and
password in the URL log in. `file:DIR` writes the reply into DIR as `<time>-<id>.eml` (for
development: `make run` without a mail server). A reply the server does not take is written to
MAIL_SPOOL_DIR/outbox/ and the receiver (`python -m mail`) retries it with the same back-off as
inbound mails, so an SMTP outage loses no answer.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses

from mail.settings import MailSettings, SmtpTarget
from mail.spool import Spool

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 20.0


class SendError(OSError):
    """The SMTP server did not take the mail (the message names the server, not the mail)."""


def message_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=policy.SMTP)


def recipients_of(message: EmailMessage) -> list[str]:
    return [address for _, address in getaddresses([str(v) for v in message.get_all("To") or []])
            if address]


def deliver(data: bytes, sender: str, recipients: list[str], target: SmtpTarget) -> None:
    """Hand one mail to the SMTP server (or the folder). SendError when it is refused."""
    if target.scheme == "file":
        assert target.directory is not None
        try:
            target.directory.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}.eml"
            temporary = target.directory / f".{name}.tmp"
            temporary.write_bytes(data)
            os.replace(temporary, target.directory / name)
        except OSError as exc:
            raise SendError(f"could not write the reply to {target.describe()}: "
                            f"{type(exc).__name__}") from exc
        return
    try:
        if target.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            client.ehlo()
            if target.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if target.username:
                client.login(target.username, target.password)
            refused = client.sendmail(sender, recipients, data)
        if refused:
            raise SendError(f"{target.describe()} refused {len(refused)} recipient(s)")
    except (smtplib.SMTPException, OSError) as exc:
        if isinstance(exc, SendError):
            raise
        raise SendError(f"{target.describe()} did not take the mail: {type(exc).__name__}") \
            from exc


def send_or_queue(message: EmailMessage, settings: MailSettings, *,
                  conversation_id: str | None = None) -> str:
    """Send now; on failure keep it in the outbox for the receiver to retry. Never raises
    SendError ("queued" says it was kept); SpoolError when it can be neither sent nor kept."""
    data = message_bytes(message)
    recipients = recipients_of(message)
    sender = settings.sender.addr_spec
    try:
        deliver(data, sender, recipients, settings.smtp)
        return "sent"
    except SendError as exc:
        logger.warning("reply of conversation %s not sent now, kept in the outbox: %s",
                       conversation_id, exc)
    Spool(settings.spool_dir).ensure().store(
        data, {"conversation_id": conversation_id, "kind": "reply",
               "next_attempt": time.time() + settings.retry_seconds}, folder="outbox")
    return "queued"
