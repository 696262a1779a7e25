"""A local SMTP sink for outgoing mail (aiosmtpd on a free loopback port, in a thread).

    with SmtpSink() as sink:
        ... SMTP_URL = sink.url ...
        reply = sink.wait_for(lambda m: m["In-Reply-To"] == "<m1@client>")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.rasa_stack import free_port


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False  # answer 451 to every mail (a server that is down for mail)
        self._changed = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802
                          envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        data = envelope.original_content or envelope.content or b""
        message = BytesParser(policy=policy.default).parsebytes(
            data if isinstance(data, bytes) else data.encode())
        with self._changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self._changed.notify_all()
        return "250 OK"

    def wait_for(self, predicate: Callable[[EmailMessage], bool], timeout: float = 90.0
                 ) -> EmailMessage:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching mail within {timeout:.0f} s; got "
                                         f"{[str(m['Subject']) for m in self.messages]}")
                self._changed.wait(remaining)

    def replies_to(self, message_id: str) -> list[EmailMessage]:
        with self._changed:
            return [m for m in self.messages if str(m.get("In-Reply-To") or "") == message_id]

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._controller.stop()


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n") if body is not None else ""
