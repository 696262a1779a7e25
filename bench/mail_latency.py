"""E-mail channel latency: from the receiver's "250 OK" to the reply arriving at the SMTP sink.

    python -m bench.mail_latency            # MAIL_BENCH_N mails per kind (default 10)

The stack is the real one: the receiver (`python -m mail`, a subprocess), the Rasa server and
the action server on free loopback ports (tests.support.rasa_stack), a SQLite store with the test
orders, the fake Slack Web API and an aiosmtpd sink for the replies. Mails are sent one after
another (no concurrency), each in its own thread, for three kinds:

- order status from the order's own address (NLU, form, verification, store, reply),
- an FAQ question (NLU, response, reply),
- an unclear question handed to a person (NLU, knowledge search refused, case, Slack post with
  the transcript, the mail posted into the thread, the acknowledgement mail).

Writes reports/mail_latency.md with the table and the conditions (load average, model).
"""

from __future__ import annotations

import os
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from pathlib import Path

from scripts.train import ensure_model
from tests.fakes.slack_api import FakeSlackApi
from tests.mail.mails import mail
from tests.mail.sink import SmtpSink
from tests.support.rasa_stack import ROOT, free_port, start_rasa_stack
from tests.support.store import ORDERS, make_test_store, sqlite_url

REPORT = ROOT / "reports" / "mail_latency.md"
KINDS = {
    "order status (own address)": (
        "anna.berg@example.com", f"Hi, where is my order {ORDERS['in_transit'].number}?"),
    "FAQ": ("someone.else@example.org", "Which payment methods do you accept?"),
    "unclear -> person (case, Slack, acknowledgement)": (
        "someone.else@example.org",
        "Do you sell replacement felt pads for the Oslo dining chairs from 2019?"),
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def replying_to(message_id: str) -> Callable[[EmailMessage], bool]:
    return lambda message: str(message["In-Reply-To"]) == message_id


def send(port: int, sender: str, text: str, number: int) -> tuple[str, float]:
    message = mail(text, sender=sender, subject=f"Question {number}")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail(sender)
        client.rcpt("support@nordvik.example")
        code, answer = client.data(message.as_bytes(policy=policy.SMTP))
    accepted = time.monotonic()
    if code != 250:
        raise RuntimeError(f"the receiver answered {code} {answer!r}")
    return str(message["Message-ID"]), accepted


def main() -> int:
    count = int(os.environ.get("MAIL_BENCH_N", "10"))
    model = Path(os.environ.get("NORDVIK_TEST_MODEL") or ensure_model(quiet=True).model)
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="mail-bench-") as folder, SmtpSink() as sink, \
            FakeSlackApi() as slack:
        tmp = Path(folder)
        url = sqlite_url(tmp / "store.db")
        make_test_store(url)
        extra = {
            "NORDVIK_SECRET_KEY": "bench-master-key-for-the-mail-latency-0123456789",
            "MAIL_WEBHOOK_TOKEN": "bench-mail-webhook-token-0123456789", "SMTP_URL": sink.url,
            "MAIL_SPOOL_DIR": str(tmp / "spool"), "SLACK_API_URL": slack.url,
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_HANDOFF_CHANNEL": "CBENCH",
            "KB_URL": f"http://127.0.0.1:{free_port()}", "MAIL_RATE_SENDER_MESSAGES": "0",
        }
        with start_rasa_stack(tmp / "rasa", url, extra, model=model) as rasa:
            port = free_port()
            env = {**rasa.env, "MAIL_PORT": str(port), "RASA_URL": rasa.base_url}
            with open(tmp / "receiver.log", "wb") as log:
                receiver = subprocess.Popen(  # noqa: S603 - fixed argv
                    [sys.executable, "-m", "mail"], cwd=ROOT, env=env, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                time.sleep(3)
                for kind, (sender, text) in KINDS.items():
                    results[kind] = []
                    for number in range(count):
                        message_id, accepted = send(port, sender, text, number)
                        sink.wait_for(replying_to(message_id), 180)
                        results[kind].append((time.monotonic() - accepted) * 1000)
                        print(f"{kind}: {results[kind][-1]:.0f} ms", flush=True)
            finally:
                os.killpg(receiver.pid, signal.SIGTERM)
                receiver.wait(timeout=20)
    load = os.getloadavg()
    lines = [
        "# E-mail channel latency",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `python -m "
        f"bench.mail_latency` on this machine ({os.cpu_count()} cores), load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end (other engineers' jobs "
        f"shared the cores). Model `{model.name}`; SQLite store; one mail at a time; "
        f"{count} mails per kind. Time from the receiver's `250 OK` to the reply at the SMTP "
        "sink (storing, parsing, the webhook, the Rasa turn with its actions, composing, SMTP).",
        "",
        "| kind | mails | p50 ms | p95 ms | max ms | mean ms |",
        "|---|---|---|---|---|---|",
    ]
    for kind, values in results.items():
        lines.append(f"| {kind} | {len(values)} | {percentile(values, 0.5):.0f} | "
                     f"{percentile(values, 0.95):.0f} | {max(values):.0f} | "
                     f"{statistics.mean(values):.0f} |")
    lines += ["", "The receiver polls nothing: a stored mail is queued at once; the worker handles "
              "one mail at a time, so these are also the per-mail service times.", ""]
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
