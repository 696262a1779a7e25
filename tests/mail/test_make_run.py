"""`make run` starts the receiver as a supervised service and says how to send it a test mail."""

from __future__ import annotations

import sys
from pathlib import Path

from runtime.settings import RuntimeSettings
from scripts.run_all import _mail_usage
from scripts.services import describe


def test_the_receiver_is_a_supervised_service_after_rasa(tmp_path: Path) -> None:
    settings = RuntimeSettings.from_env({"RUN_DIR": str(tmp_path)})
    services = {s.name: s for s in describe({}, settings, tmp_path / "endpoints.yml", tmp_path)}
    receiver = services["mail_receiver"]
    assert receiver.argv == (sys.executable, "-m", "mail")
    assert receiver.priority > services["rasa_0"].priority


def test_make_run_prints_how_to_send_a_test_mail() -> None:
    usage = _mail_usage({"MAIL_PORT": "2626", "MAIL_WEBHOOK_TOKEN": "a-test-token-of-enough-length",
                         "SMTP_URL": "smtp://127.0.0.1:2527"})
    assert "127.0.0.1:2626" in usage and "support@nordvik.example" in usage
    assert "-m mail.send_test --from" in usage
    assert "replies go to smtp://127.0.0.1:2527" in usage
    broken = _mail_usage({"MAIL_PORT": "x", "MAIL_WEBHOOK_TOKEN": "a-test-token-of-enough-length"})
    assert "MAIL_PORT" in broken
