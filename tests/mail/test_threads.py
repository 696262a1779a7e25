"""Mail threads as conversations, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mail.threads import (
    ThreadStore,
    ThreadStoreUnavailable,
    conversation_id_for,
    mail_threads,
)
from tests.store.pg import fresh_pg_database

ANNA = "anna.berg@example.com"
MALLORY = "mallory@example.org"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", "test-master-key-for-the-mail-tests-0123456789")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def threads(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadStore]:
    if request.param == "sqlite":
        yield ThreadStore(f"sqlite:///{tmp_path / 'store.db'}")
        return
    with fresh_pg_database() as url:
        store = ThreadStore(url)
        yield store
        store.engine.dispose()


def receive(threads: ThreadStore, message_id: str, earlier: tuple[str, ...], sender: str = ANNA,
            subject: str = "My order") -> str:
    placement = threads.place(message_id, earlier, sender)
    threads.record_inbound(placement, message_id=message_id, earlier_ids=earlier,
                           mail_id=f"spool-{message_id}", sender=sender, subject=subject,
                           language="en")
    threads.finish_inbound(message_id, "replied")
    return placement.conversation_id


def test_one_thread_is_one_conversation(threads: ThreadStore) -> None:
    first = threads.place("<m1@c>", (), ANNA)
    assert first.is_new_thread and first.earlier_state is None
    assert first.conversation_id == conversation_id_for("<m1@c>", ANNA)
    assert first.conversation_id.startswith("email-") and "anna" not in first.conversation_id
    conversation = receive(threads, "<m1@c>", ())
    threads.record_outbound(conversation, "<r1@nordvik.example>", "sv")
    # the customer's client quotes only our reply (In-Reply-To), or the whole chain
    assert receive(threads, "<m2@c>", ("<r1@nordvik.example>",)) == conversation
    assert receive(threads, "<m3@c>", ("<m1@c>", "<r1@nordvik.example>", "<m2@c>")) == conversation
    thread = threads.thread(conversation)
    assert thread is not None and thread.customer() == ANNA
    assert thread.reply_to == "<m3@c>"
    assert thread.references == ("<m1@c>", "<r1@nordvik.example>", "<m2@c>", "<m3@c>")
    assert thread.subject == "My order" and thread.language == "en"
    with threads.engine.connect() as connection:
        stored = connection.execute(select(mail_threads.c.customer)).scalars().all()
    assert stored and all("anna" not in value for value in stored)  # sealed at rest


def test_a_processed_mail_is_a_duplicate(threads: ThreadStore) -> None:
    conversation = receive(threads, "<m1@c>", ())
    again = threads.place("<m1@c>", (), ANNA)
    assert again.conversation_id == conversation and again.earlier_state == "done:replied"
    unfinished = threads.place("<m9@c>", (), ANNA)
    threads.record_inbound(unfinished, message_id="<m9@c>", earlier_ids=(), mail_id="s9",
                           sender=ANNA, subject="", language=None)
    assert threads.place("<m9@c>", (), ANNA).earlier_state == "received"


def test_another_sender_quoting_the_thread_gets_their_own_conversation(
        threads: ThreadStore) -> None:
    annas = receive(threads, "<m1@c>", ())
    threads.record_outbound(annas, "<r1@nordvik.example>")
    mallorys = threads.place("<x1@evil>", ("<m1@c>", "<r1@nordvik.example>"), MALLORY)
    assert mallorys.conversation_id != annas and mallorys.is_new_thread


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    store = ThreadStore(f"sqlite:///{blocked}/store.db")
    with pytest.raises(ThreadStoreUnavailable, match="mail threads unavailable"):
        store.place("<m1@c>", (), ANNA)


def test_the_tables_are_keyed_by_conversation_for_store_forget(threads: ThreadStore) -> None:
    receive(threads, "<m1@c>", ())
    with threads.engine.connect() as connection:
        for table in ("mail_threads", "mail_messages"):
            count = connection.execute(text(f"SELECT count(*) FROM {table} "
                                            "WHERE conversation_id LIKE 'email-%'")).scalar()
            assert count == 1
