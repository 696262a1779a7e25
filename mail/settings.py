"""Settings of the e-mail channel, read once per process from the environment.

- `MAIL_HOST` / `MAIL_PORT` (127.0.0.1 / 2525): where the SMTP receiver listens (loopback; a
  real mail server forwards support@ mail to it).
- `MAIL_RECIPIENTS` (support@nordvik.example): the addresses the receiver accepts mail for
  (comma list); anything else is refused at RCPT with 550.
- `MAIL_FROM` (Nordvik Home <support@nordvik.example>): the sender of the replies.
- `SMTP_URL`: where replies go. `smtp://[user:password@]host[:port]` (STARTTLS when the server
  offers it), `smtps://...` (TLS from the start), or `file:DIR` (write each reply as a .eml file
  into DIR, for development). Default `file:var/mail/sent`.
- `MAIL_MAX_BYTES` (26214400, 25 MiB): a bigger mail is stored and handed to a person unread;
  the receiver refuses mails over twice this size at SMTP level (552) so memory stays bounded.
- `MAIL_MAX_TEXT_CHARS` (2000): the mail text given to the NLU (after quotes and signatures are
  removed); the agent sees up to `MAIL_AGENT_TEXT_CHARS` (6000).
- `MAIL_SPOOL_DIR` (var/mail): every accepted mail is stored here before it is processed.
- `MAIL_RATE_SENDER_MESSAGES` / `MAIL_RATE_SENDER_SECONDS` (10 / 3600): mails one sender may
  have answered per window (0: off); more are kept in the spool's held/ folder, unanswered.
  Counted in Redis with `REDIS_URL` (rasa_addons.ratelimit), else in the receiver's memory.
- `MAIL_MAX_ATTEMPTS` (6) / `MAIL_RETRY_SECONDS` (30): delivery of a stored mail to the Rasa
  server is retried with a doubling wait starting here; after the last attempt the mail is
  parked and a case is opened. Unsent replies (SMTP down) are retried on the same schedule.
- `MAIL_WEBHOOK_TOKEN` (else generated into var/secrets/mail_webhook_token): the shared secret
  of the receiver's calls to the channel's internal webhook on the Rasa server.
- The Rasa server is reached at `RASA_URL` (read by handoff.relay.HandoffSettings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from handoff.relay import HandoffSettings
from nordvik.env import (
    REPO_ROOT,
    SettingsError,
    env_int,
    env_list,
    env_state_path,
    env_str,
    state_dir,
)
from nordvik.secrets import secret
from nordvik.text import normalize_email

DEFAULT_FROM = "Nordvik Home <support@nordvik.example>"
SMTP_SCHEMES = ("smtp", "smtps")


def default_smtp_url(env: Mapping[str, str] | None = None) -> str:
    """Replies as .eml files in `mail/sent` of the installation's state folder."""
    return f"file:{state_dir(env) / 'mail' / 'sent'}"


@dataclass(frozen=True)
class SmtpTarget:
    """Where replies are sent: an SMTP server, or a folder of .eml files (development)."""

    scheme: str  # smtp | smtps | file
    host: str = ""
    port: int = 0
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    directory: Path | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        if url.startswith("file:"):
            raw = url[len("file:"):]
            if raw.startswith("//"):
                raw = raw[2:]
            if not raw:
                raise SettingsError("SMTP_URL=file: needs a folder, e.g. file:var/mail/sent")
            path = Path(raw)
            return cls("file", directory=path if path.is_absolute() else REPO_ROOT / path)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise SettingsError(f"SMTP_URL is not a valid URL: {exc}") from exc
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise SettingsError(
                "SMTP_URL must look like smtp://host:25, smtps://user:password@host:465 "
                "or file:var/mail/sent"
            )
        default_port = 465 if parts.scheme == "smtps" else 25
        return cls(parts.scheme, parts.hostname, port or default_port,
                   unquote(parts.username or ""), unquote(parts.password or ""))

    def describe(self) -> str:
        """For logs: where replies go, never the credentials."""
        if self.scheme == "file":
            return f"file:{self.directory}"
        return f"{self.scheme}://{self.host}:{self.port}"


def _address(value: str, name: str) -> Address:
    display, addr = parseaddr(value)
    normalized = normalize_email(addr)
    if normalized is None:
        raise SettingsError(f"{name}={value!r} is not an e-mail address")
    local, _, domain = normalized.partition("@")
    return Address(display_name=display, username=local, domain=domain)


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 2525
    recipients: tuple[str, ...] = ("support@nordvik.example",)
    sender: Address = field(default_factory=lambda: _address(DEFAULT_FROM, "MAIL_FROM"))
    smtp: SmtpTarget = field(default_factory=lambda: SmtpTarget.parse(default_smtp_url()))
    max_bytes: int = 26_214_400
    max_text_chars: int = 2000
    agent_text_chars: int = 6000
    spool_dir: Path = field(default_factory=lambda: state_dir() / "mail")
    sender_messages: int = 10
    sender_seconds: float = 3600.0
    max_attempts: int = 6
    retry_seconds: float = 30.0
    webhook_token: str = field(default="", repr=False)
    rasa_url: str = "http://127.0.0.1:5005"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MailSettings:
        recipients = tuple(r.lower() for r in env_list(env, "MAIL_RECIPIENTS",
                                                        ("support@nordvik.example",)))
        for recipient in recipients:
            if recipient != "*" and normalize_email(recipient) is None:
                raise SettingsError(f"MAIL_RECIPIENTS entry {recipient!r} is not an address")
        return cls(
            host=env_str(env, "MAIL_HOST", "127.0.0.1"),
            port=env_int(env, "MAIL_PORT", 2525, low=1, high=65535),
            recipients=recipients,
            sender=_address(env_str(env, "MAIL_FROM", DEFAULT_FROM), "MAIL_FROM"),
            smtp=SmtpTarget.parse(env_str(env, "SMTP_URL", default_smtp_url(env))),
            max_bytes=env_int(env, "MAIL_MAX_BYTES", 26_214_400, low=1024),
            max_text_chars=env_int(env, "MAIL_MAX_TEXT_CHARS", 2000, low=100, high=20_000),
            agent_text_chars=env_int(env, "MAIL_AGENT_TEXT_CHARS", 6000, low=100,
                                     high=100_000),
            spool_dir=env_state_path(env, "MAIL_SPOOL_DIR", "mail"),
            sender_messages=env_int(env, "MAIL_RATE_SENDER_MESSAGES", 10, low=0),
            sender_seconds=float(env_int(env, "MAIL_RATE_SENDER_SECONDS", 3600, low=1)),
            max_attempts=env_int(env, "MAIL_MAX_ATTEMPTS", 6, low=1, high=50),
            retry_seconds=float(env_int(env, "MAIL_RETRY_SECONDS", 30, low=0)),
            webhook_token=secret("mail_webhook_token", "MAIL_WEBHOOK_TOKEN", env=env),
            rasa_url=HandoffSettings.from_env(env).rasa_url,
        )

    @property
    def smtp_limit_bytes(self) -> int:
        """Mails over this are refused during the SMTP conversation (552)."""
        return 2 * self.max_bytes

    @property
    def domain(self) -> str:
        """The domain of our Message-IDs."""
        return str(self.sender.domain)

    def accepts(self, recipient: str) -> bool:
        address = normalize_email(recipient)
        return "*" in self.recipients or (address is not None and address in self.recipients)
