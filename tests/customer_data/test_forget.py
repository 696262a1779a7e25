"""Forgetting a customer everywhere: the store's databases, the analytics tables and the mail
spool, from the layer above all three; the ``store`` command keeps its ``forget``."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli
from sqlalchemy import select

from customer_data import cli
from customer_data.forget import forget_everywhere, privacy_databases
from mail.spool import Spool
from store import cli as store_cli
from store.db import make_engine
from store.errors import InvalidInput
from store.migrate import upgrade
from store.models import Customer
from tests.store.factories import ANNA, LIN, add_demo_rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TRACKER_DB": str(tmp_path / "tracker.db"),
        "ANALYTICS_DATABASE_URL": f"sqlite:///{tmp_path / 'analytics.db'}",
        "PRIVACY_EXTRA_DATABASES": f"sqlite:///{tmp_path / 'copy.db'}",
        "MAIL_SPOOL_DIR": str(tmp_path / "mail"),
    }


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    add_demo_rows(engine)
    engine.dispose()
    return url


def test_the_databases_are_the_stores_list_and_the_analytics_tables(
        env: dict[str, str], store_url: str) -> None:
    databases = privacy_databases(env, store_url)
    assert databases.store_url == store_url
    assert databases.extra_urls == (env["PRIVACY_EXTRA_DATABASES"], env["ANALYTICS_DATABASE_URL"])


def test_forget_everywhere_anonymises_the_customer_and_deletes_her_mails(
        env: dict[str, str], store_url: str) -> None:
    spool = Spool(Path(env["MAIL_SPOOL_DIR"])).ensure()
    spool.store(f"From: {ANNA}\r\n\r\nwhere is my order?".encode(), {})
    kept = spool.store(f"From: {LIN}\r\n\r\nhello".encode(), {})
    forgotten = forget_everywhere(ANNA, store_url=store_url, env=env)
    assert forgotten.databases.found and forgotten.mails == 1
    assert spool.ids("incoming") == [kept]
    engine = make_engine(store_url)
    with engine.connect() as conn:
        emails = set(conn.execute(select(Customer.email)).scalars())
    engine.dispose()
    assert ANNA not in emails and LIN in emails
    again = forget_everywhere(ANNA, store_url=store_url, env=env)
    assert not again.databases.found and again.mails == 0


def test_an_address_that_is_not_one_touches_nothing(env: dict[str, str], store_url: str) -> None:
    spool = Spool(Path(env["MAIL_SPOOL_DIR"])).ensure()
    spool.store(b"From: not-an-address\r\n\r\nhi", {})
    with pytest.raises(InvalidInput):
        forget_everywhere("not-an-address", store_url=store_url, env=env)
    assert len(spool.ids("incoming")) == 1


def test_the_store_command_is_the_store_cli_with_forget(
        capsys: pytest.CaptureFixture[str]) -> None:
    project = tomli.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    scripts = project["scripts"]
    assert scripts["store"] == "customer_data.cli:main"
    with pytest.raises(SystemExit):
        store_cli.main(["forget", ANNA])  # the store alone cannot reach analytics or the mail
    assert "invalid choice: 'forget'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "forget" in capsys.readouterr().out
