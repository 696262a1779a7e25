"""Cheaper action calls in the Rasa server and a cheaper training, same behaviour.

Rasa 3.6 validates every action-server response with `jsonschema.validate(result, schema)`,
which checks the schema and builds a new validator on each call: about a fifth of the Rasa
side's time per turn in the profile (reports/turn_profile_project.txt, "jsonschema" frames).
`install()` makes `RemoteAction._validate_action_result` check the schema once and reuse one
validator; valid responses pass and invalid ones raise the same ValidationError with Rasa's
message. The Rasa launcher (rasa_addons.rasa_server) calls it before Rasa starts.

`install_local_actions()` (also called by the launcher) runs the actions in `LOCAL_ACTIONS` in
the Rasa server itself instead of over HTTP: `action_track_context`, the custom slot mapping
that Rasa's action_extract_slots calls at every customer message. It is a function of the
tracker alone (no network or database, nothing kept between calls), so running it here gives
the events the action server would: the same rasa_sdk action gets the same tracker state Rasa
would send (`current_state(ALL)`, and the domain only if the action is listed as needing it),
its events are validated and deserialised as a response would be, and an error in it is
reported like a failed action-server call. What goes away is the HTTP round trip, the JSON both
ways and the action server's share of the 2 cores. The action server still serves the action
for a Rasa started without the launcher. The actions are imported, not named by a string: this
module sits above actions/ in the layers (pyproject.toml, [tool.importlinter]).

`install_kept_connections()` (also called by the launcher) keeps the HTTP connections to the
action server open between calls. Rasa 3.6's `EndpointConfig.request` opens a new aiohttp
session, and so a new connection, for every action call and closes it after (`session()`);
here `session()` hands out one session per endpoint and event loop that stays open. An idle
connection is dropped after `KEEPALIVE_SECONDS`, well before the action server (Sanic, 5 s) or
HAProxy (30 s) closes it, so a call does not go out on a connection the server is closing.
Everything else of the request (headers, timeout, errors) is Rasa's. The Rasa server closes the
kept sessions when it stops (a listener added to the app `rasa.core.run.configure_app` builds).

`install_training()` (called by the launcher for `train`) makes a training whose cache is off
(RASA_MAX_CACHE_SIZE=0, which scripts/train.py sets: it always trains afresh, under its own
fingerprint of the inputs) skip `TrainingHook`'s fingerprints. Rasa's training hook
fingerprints every node's inputs and output, the whole training data included, after each of
the pipeline's steps, so that a later training can reuse what is cached; with the cache off
nothing is stored and the fingerprints are thrown away. They took 16 s of a 116 s training on
one core (a warm vector cache, quiet machine, 2026-12-07). The model is the same either way: the
hook only reads the outputs.

The patches touch Rasa's private `RemoteAction` (its `_validate_action_result` is replaced, its
`run` wrapped), `EndpointConfig.session` (replaced), `rasa.core.run.configure_app` (wrapped)
and `TrainingHook` (its two methods wrapped;
its cache's `_is_disabled` read), so they hold for the pinned Rasa 3.6.21 and rasa_sdk 3.6.2
only: tests/runtime/test_rasa_speedups.py fails on any other version of either.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import rasa.core.run
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.engine.training.hooks import TrainingHook
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core import events
from rasa.shared.core.trackers import EventVerbosity
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.common import ActionTrackContext

logger = logging.getLogger(__name__)

_INSTALLED = "_nordvik_cached_validator"
_LOCAL = "_nordvik_local_actions"
_TRAINING = "_nordvik_no_fingerprints_without_cache"
_KEPT = "_nordvik_kept_session"
KEEPALIVE_SECONDS = 2.0
# Rasa's own validation, as imported (only this module replaces it), kept for comparison
RASA_VALIDATE_ACTION_RESULT = RemoteAction._validate_action_result
# Actions the Rasa server runs itself: name -> the rasa_sdk action's class, imported like any
# other module (the import graph, and so import-linter, sees it). Only functions of the tracker
# alone belong here: no network or database calls, nothing kept between calls, nothing slow
# (they run on the Rasa server's event loop).
LOCAL_ACTIONS: Mapping[str, type[Action]] = {"action_track_context": ActionTrackContext}


def install() -> None:
    """Patch RemoteAction once per process (idempotent)."""
    if getattr(RemoteAction, _INSTALLED, None) is not None:
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response "
                "from the Action endpoint is valid. For more information about the format "
                f"visit {DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    setattr(RemoteAction, _INSTALLED, validator)


def install_local_actions(actions: Mapping[str, type[Action]] = LOCAL_ACTIONS) -> None:
    """Patch RemoteAction.run to run ``actions`` in this process (idempotent; the first call's
    actions stay)."""
    if getattr(RemoteAction, _LOCAL, None) is not None:
        return
    loaded: dict[str, Any] = {}
    for name, action_class in actions.items():
        action = action_class()
        if action.name() != name:
            raise ValueError(f"{action_class.__module__}.{action_class.__qualname__} is named "
                             f"{action.name()!r}, not {name!r}")
        loaded[name] = action
    remote_run = RemoteAction.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        action = loaded.get(self.name())
        if action is None:
            return await remote_run(self, output_channel, nlg, tracker, domain)
        return await _run_here(self, action, output_channel, nlg, tracker, domain)

    RemoteAction.run = run  # type: ignore[method-assign]
    setattr(RemoteAction, _LOCAL, loaded)


async def _run_here(remote: Any, action: Any, output_channel: Any, nlg: Any, tracker: Any,
                    domain: Any) -> list[Any]:
    """What RemoteAction.run returns for ``action``, without the action server."""
    state = tracker.current_state(EventVerbosity.ALL)
    needs_domain = (not remote._is_selective_domain_enabled()
                    or domain.does_custom_action_explicitly_need_domain(remote.name()))
    dispatcher = CollectingDispatcher()
    try:
        result = action.run(dispatcher, Tracker.from_dict(state),
                            domain.as_dict() if needs_domain else {})
        if inspect.isawaitable(result):
            result = await result
    except Exception as error:  # noqa: BLE001 - reported as the action server's error would be
        logger.exception("local action %s failed", remote.name())
        raise RasaException(f"Failed to execute custom action '{remote.name()}'") from error
    response = {"events": ActionExecutor.validate_events(list(result or []), remote.name()),
                "responses": dispatcher.messages}
    remote._validate_action_result(response)
    bot_messages = await remote._utter_responses(response["responses"], output_channel, nlg,
                                                 tracker)
    return [*bot_messages, *events.deserialise_events(response["events"])]


class _Borrowed:
    """`async with` gives the kept session and leaves it open (Rasa's closes its own)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_exc: object) -> None:
        return None


_KEPT_SESSIONS: list[tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = []


async def close_kept_connections(*_listener_args: object) -> None:
    """Close the kept sessions of the running event loop (a Sanic listener's signature)."""
    loop = asyncio.get_running_loop()
    for kept in [kept for kept in _KEPT_SESSIONS if kept[0] is loop]:
        _KEPT_SESSIONS.remove(kept)
        await kept[1].close()


def install_kept_connections() -> None:
    """Patch EndpointConfig.session and rasa.core.run.configure_app once per process
    (idempotent); see the module docstring."""
    if getattr(EndpointConfig, _KEPT, None) is not None:
        return
    opened = EndpointConfig.session
    configure_app = rasa.core.run.configure_app

    def configure_app_closing_kept(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        app.register_listener(close_kept_connections, "after_server_stop")
        return app

    def session(self: EndpointConfig) -> Any:
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get(_KEPT)
        if kept is None or kept[0] is not loop or kept[1].closed:
            fresh = opened(self)  # Rasa's headers, auth and timeout
            connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
            kept = (loop, aiohttp.ClientSession(headers=fresh.headers, auth=fresh.auth,
                                                timeout=fresh.timeout, connector=connector))
            loop.create_task(fresh.close())
            self.__dict__[_KEPT] = kept
            _KEPT_SESSIONS.append(kept)
        return _Borrowed(kept[1])

    EndpointConfig.session = session  # type: ignore[method-assign]
    rasa.core.run.configure_app = configure_app_closing_kept
    setattr(EndpointConfig, _KEPT, opened)


def install_training() -> None:
    """Patch TrainingHook once per process (idempotent): no fingerprints when the training cache
    is off; the hook as Rasa wrote it otherwise."""
    if getattr(TrainingHook, _TRAINING, False):
        return
    before, after = TrainingHook.on_before_node, TrainingHook.on_after_node

    def on_before_node(self: Any, node_name: str, execution_context: Any,
                       config: dict[str, Any], received_inputs: dict[str, Any]) -> dict[str, Any]:
        if self._cache._is_disabled():
            return {}
        return before(self, node_name, execution_context, config, received_inputs)

    def on_after_node(self: Any, node_name: str, execution_context: Any,
                      config: dict[str, Any], output: Any, input_hook_data: dict[str, Any]) -> None:
        if self._cache._is_disabled():
            return
        after(self, node_name, execution_context, config, output, input_hook_data)

    TrainingHook.on_before_node = on_before_node  # type: ignore[method-assign]
    TrainingHook.on_after_node = on_after_node  # type: ignore[method-assign]
    setattr(TrainingHook, _TRAINING, True)
