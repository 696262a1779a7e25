"""The cached action-response validator accepts and refuses exactly what Rasa's does, faster."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.engine.training.hooks import TrainingHook
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SlotSet,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action as SdkAction
from rasa_sdk.executor import ActionExecutor

from runtime import rasa_speedups
from runtime.rasa_speedups import install
from tests.support.loopback_http import post_server

VALID: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_number", "value": "A10001"}],
     "responses": [{"response": "utter_ask_email"}]},
    {"events": [{"event": "active_loop", "name": None}], "responses": [{"text": "hi"}]},
]
INVALID: list[dict[str, Any]] = [
    {"events": "not a list", "responses": []},
    {"events": [{"event": "slot"}], "responses": []},  # a slot event needs its name
    {"events": [], "responses": ["not an object"]},
]


def _rasa_verdict(result: dict[str, Any]) -> bool:
    try:
        validate(result, RemoteAction.action_response_format_spec())
        return True
    except ValidationError:
        return False


def _validation_seconds(action: RemoteAction) -> float:
    """The quickest of five timings of 20 rounds of validation: the minimum of repeated
    samples is what a busy machine disturbs least."""
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for result in VALID * 20:
            action._validate_action_result(result)
        samples.append(time.perf_counter() - started)
    return min(samples)


def test_same_verdicts_as_rasa_and_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rasa's validation first, whatever an earlier test in this process installed
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        rasa_speedups.RASA_VALIDATE_ACTION_RESULT)
    monkeypatch.setattr(RemoteAction, rasa_speedups._INSTALLED, None, raising=False)
    action = RemoteAction("action_x", None)
    before = _validation_seconds(action)
    install()
    install()  # idempotent
    for result in VALID:
        assert _rasa_verdict(result) and action._validate_action_result(result)
    for result in INVALID:
        assert not _rasa_verdict(result)
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(result)
    after = _validation_seconds(action)
    assert after < before / 2, (before, after)


# --- actions run in the Rasa server ----------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
CLOSED = "http://127.0.0.1:9/webhook"  # nothing listens: any HTTP call fails


class Broken(SdkAction):
    def name(self) -> str:
        return "action_broken"

    def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def _local(monkeypatch: pytest.MonkeyPatch,
           actions: dict[str, type[SdkAction]] | None = None) -> None:
    """Install local actions for this test only (the patch and its marker are undone after)."""
    monkeypatch.setattr(RemoteAction, "run", RemoteAction.run)
    monkeypatch.setattr(RemoteAction, rasa_speedups._LOCAL, None, raising=False)
    if actions is None:
        rasa_speedups.install_local_actions()
    else:
        rasa_speedups.install_local_actions(actions)


def _run(action: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> list[Any]:
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    return asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, domain))


def _untimed(event: Any) -> dict[str, Any]:
    return {k: v for k, v in event.as_dict().items() if k != "timestamp"}


def _user(text: str, language: str | None, intent: str = "faq") -> UserUttered:
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text,
             "language": language}
    return UserUttered(text, parse["intent"], [], parse_data=parse)


def _conversations() -> dict[str, tuple[list[Any], dict[str, Any]]]:
    """Name -> (events, slot values expected after the action's events)."""
    listen = ActionExecuted("action_listen")
    return {
        "first Swedish message": (
            [listen, _user("hur lång tid tar leveransen till Malmö", "sv")], {"language": "sv"}),
        "short reply keeps the language": (
            [listen, _user("where is my order please", "en"), SlotSet("language", "en"),
             listen, _user("ok tack", "sv")], {"language": "en"}),
        "long message switches it": (
            [SlotSet("language", "en"), listen, _user("jeg vil returnere den blå lampen", "nb")],
            {"language": "nb"}),
        "button payload": (
            [SlotSet("language", "zh"), listen, _user("/affirm", "en")], {"language": "zh"}),
        "question asked in the last turn": (
            [SlotSet("language", "en"), listen, _user("how do returns work", "en"),
             BotUttered("Did that help?", metadata={"utter_action": "utter_kb_helpful"}),
             SlotSet("pending_question", "kb_helpful"), listen, _user("yes", "en", "affirm")],
            {"pending_question": "kb_helpful"}),
        "question asked two turns ago": (
            [SlotSet("pending_question", "kb_helpful"), listen, _user("yes", "en", "affirm"),
             listen, _user("yes again", "en", "affirm")], {"pending_question": None}),
        "rating due after an order answer": (
            [SlotSet("language", "sv"), listen, _user("var är min order", "sv"),
             BotUttered("Skickad", metadata={"utter_action": "utter_order_shipped"}), listen,
             _user("tack så mycket för hjälpen", "sv", "thank")],
            {"csat_due": True, "language": "sv"}),
    }


@pytest.mark.parametrize("name", list(_conversations()))
def test_a_local_action_gives_what_the_action_server_gives(
        name: str, domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action server's own executor, given the JSON Rasa would post, against the local run
    (with an endpoint nobody listens on: no HTTP call may happen)."""
    from actions.common import ActionTrackContext

    events, slots = _conversations()[name]
    tracker = DialogueStateTracker.from_events("c1", events, domain.slots)
    remote = RemoteAction("action_track_context",
                          EndpointConfig(url=CLOSED, enable_selective_domain=True))
    executor = ActionExecutor()
    executor.register_action(ActionTrackContext)
    body = json.loads(json.dumps(remote._action_call_format(tracker, domain)))
    response = asyncio.run(executor.run(body))
    assert response is not None
    expected = [_untimed(e) for e in deserialise_events(response["events"])]

    _local(monkeypatch)
    found = _run(remote, tracker, domain)
    assert [_untimed(e) for e in found] == expected
    tracker.update_with_events(found, domain)
    assert {slot: tracker.get_slot(slot) for slot in slots} == slots


def test_other_actions_still_call_the_action_server(
        domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    _local(monkeypatch)
    tracker = DialogueStateTracker.from_events("c2", [_user("hej", "sv")], domain.slots)
    other = RemoteAction("action_check_order", EndpointConfig(url=CLOSED))
    with pytest.raises(RasaException, match="Failed to execute custom action"):
        _run(other, tracker, domain)


def test_a_failing_local_action_fails_like_a_remote_one(
        domain: Domain, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _local(monkeypatch, {"action_broken": Broken})
    tracker = DialogueStateTracker.from_events("c3", [_user("hej", "sv")], domain.slots)
    broken = RemoteAction("action_broken", EndpointConfig(url=CLOSED))
    with pytest.raises(RasaException, match="Failed to execute custom action 'action_broken'"):
        _run(broken, tracker, domain)
    assert "local action action_broken failed" in caplog.text


def test_a_local_action_must_have_the_name_it_is_listed_under(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="is named 'action_broken', not 'action_other'"):
        _local(monkeypatch, {"action_other": Broken})


# --- the pinned versions ----------------------------------------------------------------------
def _pinned(package: str) -> str:
    lock = (ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(package)}==(\S+)", lock, re.MULTILINE)
    assert found, f"{package} is not pinned in requirements/lock.txt"
    return found.group(1)


def test_the_patched_rasa_is_the_pinned_one() -> None:
    """runtime.rasa_speedups replaces RemoteAction._validate_action_result and wraps
    RemoteAction.run, both private to Rasa 3.6: any other Rasa or rasa_sdk must be checked by
    hand (the verdict and local-action tests above) before this pin moves."""
    import rasa
    import rasa_sdk

    assert rasa.__version__ == _pinned("rasa"), (
        f"Rasa {rasa.__version__} is not the pinned {_pinned('rasa')}: re-check "
        "runtime/rasa_speedups.py against its RemoteAction before moving the pin")
    assert rasa_sdk.__version__ == _pinned("rasa-sdk"), (
        f"rasa_sdk {rasa_sdk.__version__} is not the pinned {_pinned('rasa-sdk')}: re-check "
        "runtime/rasa_speedups.py's local actions before moving the pin")
    assert {"_validate_action_result", "run"} <= set(vars(RemoteAction))


class _Cache:
    """A training cache that is off or on, and records what the hook stores in it."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self.stored: list[tuple[str, str]] = []

    def _is_disabled(self) -> bool:
        return self.disabled

    def cache_output(self, *, fingerprint_key: str, output: Any, output_fingerprint: str,
                     model_storage: Any) -> None:
        self.stored.append((fingerprint_key, output_fingerprint))


class _Unfingerprintable:
    def fingerprint(self) -> str:
        raise AssertionError("fingerprinted although the training cache is off")


def _training_hook(cache: _Cache) -> Any:
    from rasa.engine.graph import GraphSchema, SchemaNode

    schema = GraphSchema({"node": SchemaNode(needs={}, uses=SdkAction, constructor_name="create",
                                             fn="run", config={})})
    return TrainingHook(cache=cache, model_storage=None, pruned_schema=schema)  # type: ignore[arg-type]


def _training_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    """install_training for this test only (the patch and its marker are undone after)."""
    monkeypatch.setattr(TrainingHook, "on_before_node", TrainingHook.on_before_node)
    monkeypatch.setattr(TrainingHook, "on_after_node", TrainingHook.on_after_node)
    monkeypatch.setattr(TrainingHook, rasa_speedups._TRAINING, False, raising=False)
    rasa_speedups.install_training()


def test_a_training_without_cache_computes_no_fingerprints(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _training_patch(monkeypatch)
    rasa_speedups.install_training()  # idempotent
    cache = _Cache(disabled=True)
    hook = _training_hook(cache)
    # with the cache off, neither the inputs nor the output are fingerprinted
    data = hook.on_before_node("node", None, {}, {"training_data": _Unfingerprintable()})
    assert data == {}
    hook.on_after_node("node", None, {}, _Unfingerprintable(), data)
    assert cache.stored == []


def test_a_training_with_a_cache_still_fingerprints_and_caches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.shared.utils.io import deep_container_fingerprint

    _training_patch(monkeypatch)
    cache = _Cache(disabled=False)
    hook = _training_hook(cache)
    hook.on_after_node("node", None, {}, {"rows": [1, 2]}, {"fingerprint_key": "key"})
    assert cache.stored == [("key", deep_container_fingerprint({"rows": [1, 2]}))]


def _kept(monkeypatch: pytest.MonkeyPatch, keepalive: float) -> None:
    """install_kept_connections for this test only."""
    import rasa.core.run

    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)
    monkeypatch.setattr(EndpointConfig, "_nordvik_kept_session", None, raising=False)
    monkeypatch.setattr(rasa_speedups, "KEEPALIVE_SECONDS", keepalive)
    rasa_speedups.install_kept_connections()


async def _calls(pause: float) -> tuple[list[int], list[str], list[Any]]:
    """Three calls to a loopback server through an EndpointConfig, `pause` s before the last:
    the client port of each call, the Authorization header it carried, and the answers."""
    from aiohttp import web

    ports: list[int] = []
    auth: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        ports.append(request.transport.get_extra_info("peername")[1])
        auth.append(request.headers.get("Authorization", ""))
        return web.json_response({"n": len(ports)})

    async with post_server("/webhook", handle) as url:
        endpoint = EndpointConfig(url=url, headers={"Authorization": "Bearer s3cret"})
        answers = [await endpoint.request(json={"a": 1}, method="post"),
                   await endpoint.request(json={"a": 2}, method="post")]
        await asyncio.sleep(pause)
        answers.append(await endpoint.request(json={"a": 3}, method="post"))
        await rasa_speedups.close_kept_connections()  # what the Rasa server does when it stops
    return ports, auth, answers


def test_action_calls_keep_their_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    ports, auth, answers = asyncio.run(_calls(0.0))
    assert len(set(ports)) == 3  # Rasa's own: a new connection for every call
    _kept(monkeypatch, keepalive=5.0)
    ports, auth, answers = asyncio.run(_calls(0.0))
    assert len(set(ports)) == 1  # one connection for all three
    assert auth == ["Bearer s3cret"] * 3 and answers == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_an_idle_kept_connection_is_dropped_before_the_server_drops_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sanic.config import DEFAULT_CONFIG

    # the action server (rasa_sdk's Sanic) closes an idle connection after this
    assert DEFAULT_CONFIG["KEEP_ALIVE_TIMEOUT"] > rasa_speedups.KEEPALIVE_SECONDS
    _kept(monkeypatch, keepalive=0.2)
    ports, _auth, answers = asyncio.run(_calls(0.6))
    assert ports[0] == ports[1] != ports[2]  # after the pause, a new connection
    assert answers[-1] == {"n": 3}


def test_the_rasa_server_closes_the_kept_connections_when_it_stops(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa.core.run

    _kept(monkeypatch, keepalive=5.0)
    app = rasa.core.run.configure_app(input_channels=[], enable_api=False)
    on_stop = [route.handler.keywords.get("listener") for route in app.signal_router.routes
               if route.path.startswith("server.shutdown")]
    assert rasa_speedups.close_kept_connections in on_stop
