"""The closed-loop chat bench: customers without think time, the report section it writes, and
the layout it starts for this tree (make run's, on embedded defaults)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bench import chat_closed_loop, systems
from bench.chat_customers import LevelResult, run_load
from bench.chat_think_time import HEADING as THINK_TIME_HEADING
from tests.support.loopback_http import post_server


def _result(system: str, customers: int, tps: float, p50: float, repeat: int = 1) -> LevelResult:
    return LevelResult(system=system, customers=customers, seconds=60.0,
                       offered_tps=float("inf"), turns=int(tps * 60), served_tps=tps,
                       p50_ms=p50, p95_ms=p50 * 2, p99_ms=p50 * 3, errors=0, wrong=0, lost=0,
                       duplicated=0, repeat=repeat)


def test_replace_section_adds_first_then_replaces_only_its_own() -> None:
    think = f"{THINK_TIME_HEADING}\n\nold think-time figures\n\n## Levels\n\n| a |\n"
    first = chat_closed_loop.replace_section(think, chat_closed_loop.HEADING,
                                             f"{chat_closed_loop.HEADING}\n\nrun 1\n")
    assert first.startswith(f"{chat_closed_loop.HEADING}\n\nrun 1\n")
    assert first.endswith(think)
    second = chat_closed_loop.replace_section(first, chat_closed_loop.HEADING,
                                              f"{chat_closed_loop.HEADING}\n\nrun 2\n")
    assert "run 1" not in second and "run 2" in second
    assert second.endswith(think)
    # the think-time mode replaces its section and keeps the closed-loop one
    third = chat_closed_loop.replace_section(second, THINK_TIME_HEADING,
                                             f"{THINK_TIME_HEADING}\n\nnew figures\n")
    assert "run 2" in third and "new figures" in third and "old think-time" not in third
    assert chat_closed_loop.replace_section("", "# X", "# X\n\nbody\n") == "# X\n\nbody\n"


def test_ratios_pair_each_round_and_level_and_count_the_targets() -> None:
    results = [
        _result("project", 1, 14.0, 60.0, 1), _result("project", 10, 22.0, 400.0, 1),
        _result("plain", 1, 20.0, 50.0, 1), _result("plain", 10, 20.0, 450.0, 1),
        _result("project", 1, 12.0, 80.0, 2), _result("project", 10, 18.0, 500.0, 2),
        _result("plain", 1, 20.0, 50.0, 2), _result("plain", 10, 20.0, 450.0, 2),
    ]
    ratios = chat_closed_loop.ratios_table(results)
    assert "| 1 | 10 | 22.0 | 20.0 | **1.10x** | 400 | 450 | **0.89x** |" in ratios
    assert "| 2 | 1 | 12.0 | 20.0 | **0.60x** | 80 | 50 | **1.60x** |" in ratios
    old = chat_closed_loop.against_old(results)
    assert "68-76 ms" in old and "19.9 and 22.1" in old  # the figures beside
    assert "| 60 ms and 80 ms | 50 ms and 50 ms | 1.20x and 1.60x |" in old
    assert "met in 1 of 2 round(s)" in old
    assert old.count("met in 1 of 2") == 2  # p50 met in round 1, turns/s in round 1


def test_section_without_plain_has_no_ratios() -> None:
    text = chat_closed_loop.section([_result("project", 1, 14.0, 60.0)], {"project": "x"},
                                    "python -m bench.chat_latency --closed-loop", 5.0, "m")
    assert text.startswith(chat_closed_loop.HEADING)
    assert "not run" in text and "met in" not in text


def test_customers_without_think_time_send_as_soon_as_answered() -> None:
    received: list[tuple[str, str]] = []

    async def reply(request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        received.append((body["sender"], body["message"]))
        # the reply to the e-mail names the order, as the order actions' reply does
        order = " (order NV-10001)" if "@" in body["message"] else ""
        return web.json_response([{"text": f"ok {body['message']}{order}"}])

    async def scenario() -> Any:
        async with post_server("/webhook", reply) as url:
            return await run_load(url, 2, 0.6, 0.0,
                                  [("NV-10001", "a@example.com", "shipped")], "t")

    outcome = asyncio.run(scenario())
    # with think time (mean 8 s) two customers would send a message or two in 0.6 s
    assert len(outcome.latencies_ms) >= 20
    assert outcome.errors == 0 and outcome.wrong == 0
    assert sum(outcome.sent.values()) == len(received) == len(outcome.latencies_ms)
    assert {sender.split("-")[2] for sender, _ in received} == {"0", "1"}


def test_project_runs_make_runs_default_layout(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.settings import RuntimeSettings
    from scripts.services import describe
    from web.serve import BUNDLE_PATH

    index = tmp_path / "cached-kb"
    index.mkdir()
    (index / "LIVE").write_text("v1", encoding="utf-8")
    monkeypatch.setattr(systems, "knowledge_index", lambda log: index)
    monkeypatch.setenv("RASA_REPLICAS", "3")  # the bench's own environment does not count
    monkeypatch.setenv("NORDVIK_VAR_DIR", str(tmp_path / "state"))
    layout = systems.make_run_layout(tmp_path / "run", tmp_path / "setup.log")
    defaults = RuntimeSettings.from_env({})
    assert (layout.rasa_replicas, layout.action_replicas, layout.balancer) == (
        defaults.rasa_replicas, defaults.action_replicas, defaults.actions_behind_balancer)
    make_run = describe({}, defaults, tmp_path / "endpoints.yml", tmp_path)
    expected = [s.name for s in make_run
                if not s.name.startswith(("rasa_", "action_server_", "haproxy"))]
    if not BUNDLE_PATH.exists():  # the demo store page cannot start without it
        expected.remove("web")
        assert "demo store page" in layout.describe()
    assert [s.name for s in layout.services] == expected
    assert "kb_serve" in expected and "slack_app" not in expected
    assert (tmp_path / "run" / "kb" / "LIVE").read_text(encoding="utf-8") == "v1"
    assert layout.env["KB_URL"].endswith(":" + layout.env["KB_PORT"])
    assert layout.env["KB_PORT"] != "8900" and "REDIS_URL" not in layout.env
    assert (tmp_path / "run" / "secrets" / "kb_token").read_text(
        encoding="utf-8").strip() == layout.env["KB_TOKEN"]
    assert not (tmp_path / "state" / "secrets" / "kb_token").exists()  # the state folder untouched
    for name in ("DATABASE_URL", "ANALYTICS_DATABASE_URL"):  # nothing written into var/
        assert layout.env[name].startswith(f"sqlite:///{tmp_path / 'run'}")
