"""The committed app manifest declares every surface the listeners serve."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.blocks.messages import SUGGEST_MODAL_CALLBACK
from bot.listeners.shortcuts import SUGGEST_SHORTCUT

MANIFEST = Path(__file__).resolve().parents[2] / "bot" / "manifest.yml"


def test_manifest_has_scopes_commands_shortcut_events_and_assistant() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features = manifest["features"]
    assert {c["command"] for c in features["slash_commands"]} == {"/suggest", "/order"}
    assert [(s["type"], s["callback_id"]) for s in features["shortcuts"]] == [
        ("message", SUGGEST_SHORTCUT)]
    assert features["assistant_view"]["assistant_description"]
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"app_mention", "message.channels", "message.groups", "message.im",
                      "assistant_thread_started", "assistant_thread_context_changed"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for needed in ("commands", "chat:write", "app_mentions:read", "assistant:write",
                   "channels:history", "groups:history", "im:history", "usergroups:read",
                   "channels:read", "groups:read"):
        assert needed in scopes, needed
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert SUGGEST_MODAL_CALLBACK  # the modal needs no manifest entry, only interactivity
