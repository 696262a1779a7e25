"""`python -m analytics.report` (what `make report` runs): reports/kpi.md and its PNG plots for
a date range, from the crafted conversations; bad ranges are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import Engine

from analytics.events import compact
from analytics.ingest import FactWriter
from tests.analytics.crafted import all_events

ROOT = Path(__file__).resolve().parents[2]


def report(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANALYTICS_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "analytics.report", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_report_writes_markdown_and_plots(writer: FactWriter, engine: Engine,
                                          analytics_url: str, tmp_path: Path) -> None:
    writer.ingest([compact(e) for e in all_events()])
    out = tmp_path / "reports" / "kpi.md"
    done = report(["--from", "2026-11-02", "--to", "2026-11-15", "--out", str(out)],
                  analytics_url)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith("# Customer service KPIs, 2026-11-02 to 2026-11-15")
    assert "| Conversations | 10 |" in text
    assert "| Containment | 50.0 % |" in text and "| Abandoned | 0.0 % |" in text
    assert "| Handoff rate | 40.0 % |" in text
    assert "| CSAT mean | 3.67 |" in text
    assert "| First response (median) | 60 s | p90 84 s, n=2 |" in text
    assert "| 我的包裹什麼時候到 | zh | 1 |" in text
    for name in ("conversations", "rates", "csat", "handoff_times"):
        image = out.parent / f"kpi_{name}.png"
        assert f"![{name}](kpi_{name}.png)" in text
        assert image.read_bytes()[:4] == b"\x89PNG" and image.stat().st_size > 5_000
    weekly = report(["--from", "2026-11-02", "--to", "2026-11-15", "--granularity", "week",
                     "--out", str(tmp_path / "weekly.md")], analytics_url)
    assert weekly.returncode == 0 and "| 2026-W45 | 9 |" in (tmp_path / "weekly.md").read_text()


def test_an_empty_range_still_writes_a_report(analytics_url: str, tmp_path: Path) -> None:
    out = tmp_path / "kpi.md"
    done = report(["--from", "2030-01-01", "--to", "2030-01-07", "--out", str(out)],
                  analytics_url)
    assert done.returncode == 0 and "| Conversations | 0 |" in out.read_text()


def test_bad_ranges_are_refused(analytics_url: str, tmp_path: Path) -> None:
    backwards = report(["--from", "2026-11-05", "--to", "2026-11-01",
                        "--out", str(tmp_path / "x.md")], analytics_url)
    assert backwards.returncode == 2 and "before it starts" in backwards.stderr
    junk = report(["--from", "last week"], analytics_url)
    assert junk.returncode == 2 and "is not a date" in junk.stderr
    assert not (tmp_path / "x.md").exists()
