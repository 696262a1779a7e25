"""`kb watch`: edits go live without a new process; a failed update leaves the live version."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from kb_index.builder import BuildResult
from kb_index.search import LiveIndex
from kb_index.settings import KbSettings
from kb_index.versions import VersionStore
from kb_index.watch import watch


def _published(store: VersionStore, results: list[BuildResult], other: str | None) -> bool:
    """The live version differs from ``other`` and the watcher has reported it.

    The watcher publishes before it calls ``on_update``, so the live name alone can run ahead of
    ``results``.
    """
    live = store.live_name()
    return live is not None and live != other and bool(results) and results[-1].version == live


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture()
def watcher(settings: KbSettings) -> Iterator[tuple[KbSettings, list[BuildResult]]]:
    results: list[BuildResult] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(settings,),
        kwargs={"interval": 0.05, "strict": True, "stop": stop, "on_update": results.append},
        daemon=True,
    )
    thread.start()
    try:
        yield settings, results
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_watch_publishes_edits_and_survives_a_bad_article(
    watcher: tuple[KbSettings, list[BuildResult]], caplog: pytest.LogCaptureFixture
) -> None:
    settings, results = watcher
    store = VersionStore(settings.kb_dir)
    _until(lambda: _published(store, results, None))  # nothing live yet: the first scan builds
    first = store.live_name()
    assert results[0].embedded == results[0].passages

    path = settings.source / "en/shipping-sweden.md"
    path.write_text(path.read_text().replace("PostNord or Budbee", "Zeppelinpost"), "utf-8")
    _until(lambda: _published(store, results, first))
    assert results[-1].incremental and 1 <= results[-1].embedded < results[0].passages
    hits = LiveIndex(settings).search("Zeppelinpost delivery")
    assert hits[0].article_id == "shipping-sweden" and "Zeppelinpost" in hits[0].passage

    # strict: a broken article stops the update, the live version stays, the watcher goes on
    second = store.live_name()
    calls = len(results)
    broken = settings.source / "en/broken.md"
    broken.write_text("---\nid: broken\n---\n", encoding="utf-8")
    _until(lambda: "update failed, the live version stays" in caplog.text)
    assert store.live_name() == second and len(results) == calls
    broken.unlink()
    path.write_text(path.read_text().replace("Zeppelinpost", "Ballongpost"), "utf-8")
    _until(lambda: _published(store, results, second))
    assert "Ballongpost" in LiveIndex(settings).search("Ballongpost delivery")[0].passage
