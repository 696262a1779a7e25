"""`make run` says which messaging channels are on and why the others are not; the analytics
show the three channels by name."""

from __future__ import annotations

import pytest

from analytics.mapping import channel_label
from scripts.run_all import _say_messaging_channels


def test_make_run_names_each_channel_and_why_it_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    _say_messaging_channels({"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_TOKEN": "t",
                             "MESSENGER_APP_SECRET": "a"})
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "run: whatsapp channel off: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM "
        "not set",
        "run: messenger channel off: MESSENGER_VERIFY_TOKEN, MESSENGER_PAGE_TOKEN not set",
        "run: line channel on: /webhooks/line/webhook (try: python -m messaging.send_test "
        "--platform line)",
    ]


def test_the_dashboard_names_the_messaging_channels() -> None:
    assert [channel_label(c) for c in ("whatsapp", "messenger", "line")] == [
        "WhatsApp", "Messenger", "LINE"]
