"""The SMTP receiver: accepts mail for support@ on loopback, keeps it, hands it to the assistant.

    python -m mail            # MAIL_HOST:MAIL_PORT (127.0.0.1:2525); `make run` supervises it

A real mail server forwards support@ mail here. For each mail:

1. SMTP (aiosmtpd): RCPT must be one of MAIL_RECIPIENTS (550 otherwise); DATA over twice
   MAIL_MAX_BYTES is refused (552). Anything accepted is written to the spool's incoming/
   folder (fsynced) before the server says 250; if that fails it says 451 and the sending
   server tries again. Nothing accepted is lost.
2. A worker reads each stored mail (mail/parsing.py):
   - auto-replies and bounces (Auto-Submitted, Precedence bulk/junk/list, X-Autoreply,
     mailer-daemon/postmaster/no-reply senders, an empty envelope sender or Return-Path <>,
     delivery reports, mailing lists) go to skipped/ and are never answered;
   - a mail without one usable From address goes to parked/, with a case in the CRM;
   - a sender over MAIL_RATE_SENDER_MESSAGES per MAIL_RATE_SENDER_SECONDS (a keyed hash of the
     address; shared through Redis with REDIS_URL) goes to held/, unanswered;
   - everything else (problems included: oversized, charset, malformed headers; the channel
     hands those to a person) is posted to the Rasa server's e-mail channel
     (mail/channel.py), sealed sender and all (mail/payload.py), and moved to done/.
   Delivery that fails (Rasa down, 5xx) is retried with a doubling wait (MAIL_RETRY_SECONDS,
   MAIL_MAX_ATTEMPTS); after the last attempt, or a 400, the mail is parked with a case.
3. Replies the SMTP server did not take (spool outbox/) are retried on the same schedule.

Log lines name the spool id and what happened, never an address or the mail's text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session

from mail.parsing import parse_mail
from mail.payload import payload_for
from mail.settings import MailSettings
from mail.smtp import SendError, deliver, recipients_of
from mail.spool import Spool, SpoolError
from nordvik.env import SettingsError, env_str
from nordvik.secrets import pseudonym
from nordvik.text import clip
from rasa_addons.ratelimit import Limit, create_limiter
from rasa_addons.settings import ChannelSettings, is_loopback
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 180.0
SCAN_SECONDS = 5.0


class DeliveryFailed(RuntimeError):
    """The Rasa server did not take the mail now (retry later)."""


class DeliveryRefused(RuntimeError):
    """The Rasa server refused the mail for good (400): park it."""


@dataclass(frozen=True)
class Delivered:
    outcome: str
    conversation_id: str | None


def deliver_to_channel(payload: dict[str, Any], settings: MailSettings) -> Delivered:
    """POST the mail to the channel's webhook; DeliveryFailed / DeliveryRefused."""
    url = f"{settings.rasa_url.rstrip('/')}/webhooks/email/inbound"
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {settings.webhook_token}"})
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as answer:  # noqa: S310
            body = json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            raise DeliveryRefused(f"the e-mail channel refused it (HTTP 400: "
                                  f"{exc.read()[:200].decode(errors='replace')})") from exc
        raise DeliveryFailed(f"the e-mail channel answered HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryFailed(f"the Rasa server did not answer ({type(exc).__name__})") from exc
    if not isinstance(body, dict):
        raise DeliveryFailed("the e-mail channel answered something that is not JSON")
    return Delivered(str(body.get("outcome") or "unknown"), body.get("conversation_id"))


def open_case(subject: str, conversation_id: str | None = None) -> int | None:
    """A case for a mail nobody will see otherwise; None when the store is down (logged)."""
    try:
        return int(get_store().open_case(subject=subject[:300], channel="email",
                                         conversation_id=conversation_id, status="open").id)
    except StoreError:
        logger.exception("could not open a case for a parked mail (conversation %s)",
                         conversation_id or "none")
        return None


def quiet_smtp_log() -> None:
    """aiosmtpd logs every envelope address at INFO (logger "mail.log"): keep it to warnings."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)


class MailHandler:
    """aiosmtpd handler: accept mail for our addresses and store it before saying 250."""

    def __init__(self, settings: MailSettings, spool: Spool,
                 on_stored: Callable[[str], None]) -> None:
        self.settings = settings
        self.spool = spool
        self.on_stored = on_stored

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,  # noqa: N802
                          address: str, rcpt_options: list[str]) -> str:
        if not self.settings.accepts(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802
                          envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        mail_from = str(envelope.mail_from or "").strip()
        meta = {"null_sender": mail_from in ("", "<>"), "recipients": len(envelope.rcpt_tos)}
        try:
            mail_id = await asyncio.to_thread(self.spool.store, raw, meta)
        except SpoolError:
            logger.exception("a mail could not be stored; the sender is told to try again")
            return "451 4.3.0 Mail not stored, please try again later"
        logger.info("mail %s accepted (%d bytes)", mail_id, len(raw))
        self.on_stored(mail_id)
        return f"250 2.0.0 OK queued as {mail_id}"


class MailWorker:
    """Processes stored mails one at a time (so a thread's mails keep their order)."""

    def __init__(self, settings: MailSettings, spool: Spool, *,
                 deliver: Callable[[dict[str, Any], MailSettings], Delivered] = deliver_to_channel,
                 limiter: Any = None) -> None:
        self.settings = settings
        self.spool = spool
        self.deliver = deliver
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._next_try: dict[str, float] = {}
        self._limiter = limiter

    def enqueue(self, mail_id: str) -> None:
        if mail_id not in self._queued:
            self._queued.add(mail_id)
            self.queue.put_nowait(mail_id)

    @property
    def limiter(self) -> Any:
        if self._limiter is None:
            self._limiter = create_limiter(ChannelSettings.from_env())
        return self._limiter

    async def run(self) -> None:
        while True:
            mail_id = await self.queue.get()
            try:
                await self.process(mail_id)
            except Exception:  # keep the worker alive; the mail stays in incoming/
                logger.exception("mail %s: unexpected error; it stays in incoming/", mail_id)
                self._next_try[mail_id] = time.time() + max(self.settings.retry_seconds, 5.0)
            finally:
                self._queued.discard(mail_id)
                self.queue.task_done()

    async def scan(self) -> None:
        """Pick up mails waiting in incoming/ (start-up, requeued, due retries) and retry the
        outbox."""
        now = time.time()
        for mail_id in await asyncio.to_thread(self.spool.ids, "incoming"):
            if self._next_try.get(mail_id, 0.0) <= now:
                self.enqueue(mail_id)
        await asyncio.to_thread(self.retry_outbox, now)

    async def scan_forever(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                logger.exception("spool scan failed")
            await asyncio.sleep(SCAN_SECONDS)

    def _move(self, mail_id: str, folder: str, **changes: Any) -> None:
        self.spool.move(mail_id, "incoming", folder, **changes)
        self._next_try.pop(mail_id, None)

    async def process(self, mail_id: str) -> str:
        """Handle one stored mail; returns the folder it ended in (or "incoming": retry)."""
        try:
            stored = await asyncio.to_thread(self.spool.read, mail_id)
        except FileNotFoundError:
            return "gone"
        meta = stored.meta
        mail = parse_mail(stored.raw, max_bytes=self.settings.max_bytes,
                          fallback_id=f"<{mail_id}@missing-message-id.invalid>",
                          envelope_sender_empty=bool(meta.get("null_sender")))
        if mail.auto_reply:
            logger.info("mail %s not answered: %s", mail_id, mail.auto_reply)
            await asyncio.to_thread(self._move, mail_id, "skipped", reason=mail.auto_reply)
            return "skipped"
        if mail.sender is None:
            details = "; ".join(mail.details) or "no usable sender"
            logger.warning("mail %s cannot be answered: %s; parked with a case", mail_id, details)
            case = await asyncio.to_thread(
                open_case, f"E-mail without a usable sender ({clip(details, 120)}); "
                           f"stored as {mail_id} in the mail spool's parked/ folder")
            await asyncio.to_thread(self._move, mail_id, "parked", reason=details, case=case)
            return "parked"
        if not meta.get("counted"):
            key = pseudonym(mail.sender, purpose="mail-sender")
            decision = await self.limiter.hit([Limit(
                "mail_sender", key, self.settings.sender_messages, self.settings.sender_seconds)])
            if not decision.allowed:
                logger.warning("mail %s held: its sender is over the limit of %d mails per %.0f s",
                               mail_id, self.settings.sender_messages,
                               self.settings.sender_seconds)
                await asyncio.to_thread(self._move, mail_id, "held", reason="sender rate limit")
                return "held"
            await asyncio.to_thread(self.spool.update, mail_id, counted=True)
        if mail.problems:
            logger.warning("mail %s has problems (%s): %s; it goes to a person", mail_id,
                           ", ".join(mail.problems), "; ".join(mail.details))
        payload = payload_for(mail_id, mail, self.settings)
        try:
            delivered = await asyncio.to_thread(self.deliver, payload, self.settings)
        except DeliveryRefused as exc:
            return await self._park(mail_id, str(exc))
        except DeliveryFailed as exc:
            attempts = int(meta.get("attempts") or 0) + 1
            if attempts >= self.settings.max_attempts:
                return await self._park(mail_id, f"{exc} ({attempts} attempts)")
            wait = self.settings.retry_seconds * (2 ** (attempts - 1))
            logger.warning("mail %s not delivered to the assistant (%s); attempt %d of %d, "
                           "next in %.0f s", mail_id, exc, attempts, self.settings.max_attempts,
                           wait)
            await asyncio.to_thread(self.spool.update, mail_id, attempts=attempts,
                                    last_error=str(exc))
            self._next_try[mail_id] = time.time() + wait
            return "incoming"
        await asyncio.to_thread(self._move, mail_id, "done", outcome=delivered.outcome,
                                conversation_id=delivered.conversation_id)
        return "done"

    async def _park(self, mail_id: str, why: str) -> str:
        logger.error("mail %s parked: %s", mail_id, why)
        case = await asyncio.to_thread(
            open_case, f"E-mail not processed ({clip(why, 120)}); stored as {mail_id} in the "
                       "mail spool's parked/ folder")
        await asyncio.to_thread(self._move, mail_id, "parked", reason=why, case=case)
        return "parked"

    def retry_outbox(self, now: float) -> None:
        for mail_id in self.spool.ids("outbox"):
            stored = self.spool.read(mail_id, "outbox")
            if float(stored.meta.get("next_attempt") or 0) > now:
                continue
            message = BytesParser(policy=policy.default).parsebytes(stored.raw)
            try:
                deliver(stored.raw, self.settings.sender.addr_spec,
                        recipients_of(cast(EmailMessage, message)), self.settings.smtp)
            except SendError as exc:
                attempts = int(stored.meta.get("attempts") or 0) + 1
                if attempts >= self.settings.max_attempts:
                    logger.error("reply %s could not be sent after %d attempts: %s; parked",
                                 mail_id, attempts, exc)
                    case = open_case(
                        f"Reply by e-mail not sent ({clip(str(exc), 100)}); stored as {mail_id} "
                        "in the mail spool's parked/ folder",
                        conversation_id=stored.meta.get("conversation_id"))
                    self.spool.move(mail_id, "outbox", "parked", reason=str(exc), case=case)
                else:
                    wait = self.settings.retry_seconds * (2 ** (attempts - 1))
                    self.spool.update(mail_id, "outbox", attempts=attempts,
                                      next_attempt=now + wait, last_error=str(exc))
                continue
            logger.info("reply %s sent from the outbox", mail_id)
            self.spool.delete(mail_id, "outbox")


class Receiver:
    """The SMTP server and the worker, in one asyncio loop."""

    def __init__(self, settings: MailSettings, **worker_options: Any) -> None:
        self.settings = settings
        self.spool = Spool(settings.spool_dir).ensure()
        self.worker = MailWorker(settings, self.spool, **worker_options)
        self.handler = MailHandler(settings, self.spool, self.worker.enqueue)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, data_size_limit=self.settings.smtp_limit_bytes,
                         hostname="nordvik-mail", ident="Nordvik mail receiver",
                         enable_SMTPUTF8=True),
            host=self.settings.host, port=self.settings.port)
        self._tasks = [loop.create_task(self.worker.run()),
                       loop.create_task(self.worker.scan_forever())]
        logger.info("mail receiver on %s:%s; replies go to %s; spool %s", self.settings.host,
                    self.settings.port, self.settings.smtp.describe(), self.settings.spool_dir)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def serve_forever(self) -> None:
        await self.start()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
        await self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mail",
                                     description="The SMTP receiver of the e-mail channel.")
    parser.add_argument("--host", help="interface (default MAIL_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default MAIL_PORT, 2525)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=env_str(None, "LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_smtp_log()
    try:
        settings = MailSettings.from_env()
    except SettingsError as exc:
        print(f"mail: {exc}", file=sys.stderr)
        return 2
    if args.host or args.port:
        settings = replace(settings, host=args.host or settings.host,
                           port=args.port or settings.port)
    if not is_loopback(settings.host):
        logger.warning("MAIL_HOST=%s is not loopback: make sure only your mail server can "
                       "reach it", settings.host)
    asyncio.run(Receiver(settings).serve_forever())
    return 0
