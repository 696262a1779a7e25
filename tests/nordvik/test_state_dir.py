"""The installation's state folder: one setting moves every generated file, and the test
session has its own, so `make run`'s var/ never changes what a test sees."""

from __future__ import annotations

import os
from pathlib import Path

from analytics.settings import AnalyticsSettings
from kb_index.auth import token_path
from kb_index.settings import KbSettings
from mail.settings import MailSettings
from nordvik.env import REPO_ROOT, env_state_path, state_dir
from nordvik.secrets import secret, secrets_dir
from nordvik.trackers import tracker_sqlite_path
from runtime.settings import RuntimeSettings
from scripts.rasa_env import default_endpoints
from store.settings import StoreSettings


def test_the_state_folder_defaults_to_var_and_follows_the_setting(tmp_path: Path) -> None:
    assert state_dir({}) == REPO_ROOT / "var"
    assert state_dir({"NORDVIK_VAR_DIR": str(tmp_path)}) == tmp_path
    assert state_dir({"NORDVIK_VAR_DIR": "elsewhere/state"}) == REPO_ROOT / "elsewhere" / "state"


def test_an_explicit_path_setting_wins_over_the_state_folder(tmp_path: Path) -> None:
    env = {"NORDVIK_VAR_DIR": str(tmp_path), "KB_DIR": "/srv/kb"}
    assert env_state_path(env, "KB_DIR", "kb") == Path("/srv/kb")
    assert env_state_path({"NORDVIK_VAR_DIR": str(tmp_path)}, "KB_DIR", "kb") == tmp_path / "kb"


def test_every_generated_file_moves_with_the_state_folder(tmp_path: Path) -> None:
    env = {"NORDVIK_VAR_DIR": str(tmp_path), "MAIL_WEBHOOK_TOKEN": "a-test-token-of-enough-length"}
    assert KbSettings.from_env(env).kb_dir == tmp_path / "kb"
    mail = MailSettings.from_env(env)
    assert mail.spool_dir == tmp_path / "mail"
    assert mail.smtp.directory == tmp_path / "mail" / "sent"
    assert StoreSettings.from_env(env).database_url == f"sqlite:///{tmp_path / 'store.db'}"
    assert tracker_sqlite_path(env) == tmp_path / "tracker.db"
    analytics = AnalyticsSettings.from_env(env)
    assert analytics.database_url == f"sqlite:///{tmp_path / 'analytics.db'}"
    assert analytics.events_db == tmp_path / "events.db"
    assert RuntimeSettings.from_env(env).run_dir == tmp_path / "run"
    assert default_endpoints(env) == tmp_path / "endpoints.yml"
    assert secrets_dir(env) == tmp_path / "secrets"


def test_the_test_session_never_uses_the_checkouts_var() -> None:
    """tests/conftest.py gives the session a folder of its own, inherited by the servers it
    starts: a token or database that `make run` left in var/ is not seen."""
    own = state_dir()
    assert own != REPO_ROOT / "var" and os.environ["NORDVIK_VAR_DIR"] == str(own)
    assert secrets_dir() == own / "secrets"
    assert token_path() == own / "secrets" / "kb_token"
    assert KbSettings.from_env().kb_dir == own / "kb"
    value = secret("state_dir_probe", "RASA_TOKEN", env={})  # env={}: RASA_TOKEN unset
    assert (own / "secrets" / "state_dir_probe").read_text().strip() == value
    assert not (REPO_ROOT / "var" / "secrets" / "state_dir_probe").exists()
