"""`make run` gives the services it starts their shared secrets, kb serve's token included."""

from __future__ import annotations

import stat
from pathlib import Path

from kb_index.auth import configured_token
from kb_index.settings import KbSettings
from scripts.run_all import share_secrets


def test_every_shared_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    share_secrets(env, tmp_path)
    assert set(env) == {"RASA_TOKEN", "MAIL_WEBHOOK_TOKEN", "KB_TOKEN"}
    assert len(set(env.values())) == 3 and all(len(v) >= 16 for v in env.values())
    token_file = tmp_path / "kb_token"
    assert token_file.read_text().strip() == env["KB_TOKEN"]
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    again: dict[str, str] = {}
    share_secrets(again, tmp_path)
    assert again == env  # the next `make run` uses the same values


def test_kb_commands_find_the_token_kb_serve_was_given(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    share_secrets(env, tmp_path)
    # a `kb` command or client without KB_TOKEN in its environment reads the same file
    assert configured_token(KbSettings.from_env({}), tmp_path) == env["KB_TOKEN"]


def test_a_token_from_the_environment_wins_and_nothing_is_written(tmp_path: Path) -> None:
    env = {"KB_TOKEN": "k" * 24, "RASA_TOKEN": "r" * 24, "MAIL_WEBHOOK_TOKEN": "m" * 24}
    share_secrets(env, tmp_path)
    assert env == {"KB_TOKEN": "k" * 24, "RASA_TOKEN": "r" * 24, "MAIL_WEBHOOK_TOKEN": "m" * 24}
    assert not any(tmp_path.iterdir())
