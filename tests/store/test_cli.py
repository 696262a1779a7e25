"""``python -m store.cli``: migrate, seed, stats; errors are one line and a non-zero exit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nordvik.env import REPO_ROOT
from store.cli import main


def test_migrate_seed_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "stats"]) == 1
    assert "not migrated" in capsys.readouterr().out
    assert main(["--database-url", url, "migrate"]) == 0
    assert "from revision none to 0003" in capsys.readouterr().out
    assert main(["--database-url", url, "migrate"]) == 0
    assert "already at revision 0003" in capsys.readouterr().out

    args = ["--database-url", url, "seed", "--today", "2026-11-23", "--orders", "400"]
    assert main([*args, "--customers", "80"]) == 0
    out = capsys.readouterr().out
    assert "seeded 80 customers and 400 orders (anchor 2026-11-23)" in out
    for status in ("pending", "in_transit", "delayed", "cancelled", "returned", "refunded"):
        assert f"\n{status} " in out
    assert "delivered (return window open)" in out and "@example." in out
    assert main(args) == 0
    assert "already has 400 orders; left as it is" in capsys.readouterr().out
    assert main([*args[:-1], "120", "--customers", "30", "--force"]) == 0
    assert "seeded 30 customers and 120 orders" in capsys.readouterr().out
    assert main(["--database-url", url, "stats"]) == 0
    stats = capsys.readouterr().out
    assert "revision 0003" in stats and re.search(r"\norders +120\n", stats)


def test_bad_arguments_exit_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["seed", "--today", "23/11/2026"])
    assert info.value.code == 2
    assert "is not a date" in capsys.readouterr().err


def test_an_unreachable_database_is_one_line_and_exit_1() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "store.cli", "seed"],
        cwd=REPO_ROOT,
        env={"DATABASE_URL": "postgresql+psycopg2://u:pw@127.0.0.1:1/shop", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("store seed: cannot reach the order store")
    assert "127.0.0.1:1/shop" in lines[0] and ":pw@" not in lines[0]
    assert "Traceback" not in result.stderr
