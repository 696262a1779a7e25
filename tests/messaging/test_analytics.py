"""The dashboard's per-channel figures include the messaging channels: conversations on
whatsapp, messenger and line (Rasa's input channel names) are counted each under their own
channel, through the real analytics writer and queries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from analytics.db import make_engine
from analytics.events import compact
from analytics.ingest import FactWriter
from analytics.kpis import KpiFilter
from analytics.mapping import channel_label
from analytics.migrate import upgrade
from analytics.queries import kpi_report
from tests.analytics.crafted import DAY1
from tests.analytics.scripts import Script


def test_per_channel_figures_include_the_messaging_channels(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        scripts = [
            Script("wa-1", DAY1, channel="whatsapp").session().order_status().csat(5),
            Script("wa-2", DAY1 + 60, channel="whatsapp").session().greet()
            .handoff(connected=True),
            Script("fb-1", DAY1 + 120, channel="messenger").session()
            .faq("how long does shipping take?", "shipping_times"),
            Script("line-1", DAY1 + 180, channel="line").session().order_status(),
            Script("web-1", DAY1 + 240, channel="socketio").session().greet(),
        ]
        FactWriter(engine).ingest([compact(e) for s in scripts for e in s.events])
        report = kpi_report(engine, KpiFilter(start=date(2026, 11, 2), end=date(2026, 11, 8)))
        counts = {k: v.conversations for k, v in report.by_channel.items()}
        assert counts == {"whatsapp": 2, "messenger": 1, "line": 1, "socketio": 1}
        assert report.by_channel["whatsapp"].handoffs == 1
        line = kpi_report(engine, KpiFilter(start=date(2026, 11, 2), end=date(2026, 11, 8),
                                            channel="line"))
        assert line.total.conversations == 1 and line.total.bot_resolved == 1
        assert sorted(channel_label(c) for c in counts) == ["LINE", "Messenger", "WhatsApp",
                                                            "web chat"]
    finally:
        engine.dispose()
