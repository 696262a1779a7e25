"""Secrets come from the environment or are generated once; sealing and pseudonyms."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nordvik.env import SettingsError
from nordvik.secrets import pseudonym, seal, secret, unseal

KEY = {"NORDVIK_SECRET_KEY": "k" * 40}


def test_environment_wins_and_nothing_is_written(tmp_path: Path) -> None:
    assert secret("rasa_token", "RASA_TOKEN", env={"RASA_TOKEN": "from-env-123456789"},
                  directory=tmp_path) == "from-env-123456789"
    assert list(tmp_path.iterdir()) == []


def test_generated_once_private_and_stable(tmp_path: Path) -> None:
    first = secret("rasa_token", "RASA_TOKEN", env={}, directory=tmp_path / "s")
    again = secret("rasa_token", "RASA_TOKEN", env={}, directory=tmp_path / "s")
    assert first == again and len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "s" / "rasa_token").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o700


def test_a_truncated_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rasa_token").write_text("short")
    with pytest.raises(SettingsError, match="shorter than 16"):
        secret("rasa_token", "RASA_TOKEN", env={}, directory=tmp_path)


def test_seal_round_trip_and_refusals() -> None:
    sealed = seal("anna@example.com", purpose="email", env=KEY)
    assert "anna" not in sealed and sealed.startswith("sealed:v1:")
    assert unseal(sealed, purpose="email", env=KEY) == "anna@example.com"
    assert unseal(sealed, purpose="other", env=KEY) is None
    assert unseal(sealed, purpose="email", env={"NORDVIK_SECRET_KEY": "x" * 40}) is None
    assert unseal(sealed[:-4] + "AAAA", purpose="email", env=KEY) is None
    assert unseal("[e-mail]", purpose="email", env=KEY) is None
    assert unseal(None, purpose="email", env=KEY) is None


def test_pseudonyms_are_stable_keyed_and_irreversible() -> None:
    one = pseudonym("203.0.113.7", purpose="client", env=KEY)
    assert one == pseudonym("203.0.113.7", purpose="client", env=KEY)
    assert one != pseudonym("203.0.113.8", purpose="client", env=KEY)
    assert one != pseudonym("203.0.113.7", purpose="client", env={"NORDVIK_SECRET_KEY": "y" * 40})
    assert "203" not in one and len(one) == 32


def test_a_short_master_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="at least 32"):
        seal("x", purpose="email", env={"NORDVIK_SECRET_KEY": "tooshort-but-16chars"})
