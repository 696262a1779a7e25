"""One settings home: every environment variable is declared once (nordvik/variables/) and read
only through nordvik/env.py. These tests scan the project's code (tests/ and bench/ excluded)."""

from __future__ import annotations

import ast
import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from nordvik.env import (
    REPO_ROOT,
    UndeclaredVariableError,
    env_bool,
    env_int,
    env_list,
    env_state_path,
    env_str,
    process_env,
    set_default,
    state_dir,
)
from nordvik.variables import VARIABLES, declared, is_declared
from nordvik.variables.table import render

SETTINGS_HOME = REPO_ROOT / "nordvik" / "env.py"
SKIPPED_DIRS = {"tests", "bench", "node_modules", "var", "models"}
READERS = {"env_str", "env_int", "env_float", "env_bool", "env_list", "env_choice", "env_path",
           "env_state_path", "set_default"}
DIRECT_READ = re.compile(r"os\.environ|getenv|from\s+os\s+import[^\n]*\benviron\b")


def project_files() -> list[Path]:
    files = []
    for path in sorted(REPO_ROOT.rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).parts
        if parts[0] in SKIPPED_DIRS or any(p.startswith(".") for p in parts[:-1]):
            continue
        files.append(path)
    return files


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "TEXT" assignments, so `secret(..., TOKEN_ENV)` resolves."""
    found: dict[str, str] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def reads(path: Path) -> list[tuple[str, int, str, ast.expr | None]]:
    """(reader, line, variable name, the caller's default) of every read with a known name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _constants(tree)
    found: list[tuple[str, int, str, ast.expr | None]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        reader = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if reader == "process_env":
            found += [(reader, node.lineno, k.arg, None) for k in node.keywords if k.arg]
            continue
        position = {"set_default": 0, "secret": 1}.get(reader, 1)
        if (reader not in READERS and reader != "secret") or len(node.args) <= position:
            continue
        arg = node.args[position]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            name = arg.value
        elif isinstance(arg, ast.Name) and arg.id in constants:
            name = constants[arg.id]
        else:
            continue  # a name built at run time: test_settings_classes_read_declared_names
        default = node.args[2] if reader in READERS - {"set_default"} and len(
            node.args) > 2 else None
        found.append((reader, node.lineno, name, default))
    return found


def test_the_scan_sees_the_project() -> None:
    files = {p.relative_to(REPO_ROOT).as_posix() for p in project_files()}
    assert {"nordvik/env.py", "store/settings.py", "scripts/run_all.py"} <= files
    assert not any(f.startswith(("tests/", "bench/")) for f in files)
    names = {name for p in project_files() for _, _, name, _ in reads(p)}
    assert {"DATABASE_URL", "KB_TOKEN", "HF_HUB_OFFLINE", "RASA_TOKEN"} <= names


def test_nothing_outside_the_settings_home_reads_the_environment() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in project_files() if path != SETTINGS_HOME
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DIRECT_READ.search(line)
    ]
    assert not offenders, "read the environment through nordvik.env instead:\n" + "\n".join(
        offenders)


def bypasses(path: Path) -> list[str]:
    """`mapping.get("NAME", ...)` or `mapping["NAME"]` reads of a declared variable: an
    environment mapping read past the readers (its default would be a second copy)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        key: ast.expr | None = None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get" and node.args):
            key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
        if (isinstance(key, ast.Constant) and isinstance(key.value, str)
                and is_declared(key.value)):
            where = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
            found.append(f"{where}:{node.lineno}: {key.value}")
    return found


def test_no_declared_variable_is_read_past_the_readers() -> None:
    offenders = [hit for path in project_files() if path != SETTINGS_HOME
                 for hit in bypasses(path)]
    assert not offenders, "read these with nordvik.env's readers:\n" + "\n".join(offenders)


def test_the_bypass_scan_finds_a_mapping_read(tmp_path: Path) -> None:
    sample = tmp_path / "scan_sample.py"
    sample.write_text('port = env.get("KB_PORT", "8900")\nurl = env["DATABASE_URL"]\n'
                      'path = env.get("PATH")\n', encoding="utf-8")
    assert [hit.rsplit(": ", 1)[1] for hit in bypasses(sample)] == ["KB_PORT", "DATABASE_URL"]


def test_every_name_given_to_the_readers_is_declared() -> None:
    undeclared = [f"{path.relative_to(REPO_ROOT)}:{line}: {reader}({name!r})"
                  for path in project_files() for reader, line, name, _ in reads(path)
                  if not is_declared(name)]
    assert not undeclared, "declare these in nordvik/variables/:\n" + "\n".join(undeclared)


def test_a_default_a_reader_spells_out_is_the_declared_one() -> None:
    """A default lives in the declaration; a caller may repeat it, never contradict it."""
    differing = []
    for path in project_files():
        for _reader, line, name, default in reads(path):
            if default is None or not is_declared(name) or declared(name).default is None:
                continue
            try:
                value = ast.literal_eval(default)
            except ValueError:
                continue  # a constant or an expression: not checked here
            expected = declared(name).default
            if isinstance(expected, float) and isinstance(value, int):
                value = float(value)
            if value != expected:
                differing.append(f"{path.relative_to(REPO_ROOT)}:{line}: {name} {value!r} "
                                 f"(declared {expected!r})")
    assert not differing, "\n".join(differing)


def test_no_variable_is_declared_twice() -> None:
    twice = [name for name, count in Counter(v.name for v in VARIABLES).items() if count > 1]
    assert not twice
    assert len(VARIABLES) > 100


def test_every_declared_variable_is_used() -> None:
    """A declaration nobody reads (or sets) is stale."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in project_files()
                     if "variables" not in p.relative_to(REPO_ROOT).parts)
    text += "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "tests").rglob("*.py"))
    unused = [v.name for v in VARIABLES
              if v.name not in text and f'f"{v.name.rsplit("_", 1)[0]}_{{' not in text]
    assert not unused


def test_readers_refuse_an_undeclared_name() -> None:
    for read in (lambda: env_str({}, "NORDVIK_NO_SUCH_SETTING"),
                 lambda: env_int({"NORDVIK_NO_SUCH_SETTING": "1"}, "NORDVIK_NO_SUCH_SETTING", 1),
                 lambda: set_default("NORDVIK_NO_SUCH_SETTING", "1"),
                 lambda: process_env(NORDVIK_NO_SUCH_SETTING="1")):
        with pytest.raises(UndeclaredVariableError, match="NORDVIK_NO_SUCH_SETTING.*declared"):
            read()


def test_the_default_comes_from_the_declaration() -> None:
    assert env_int({}, "KB_PASSAGE_CHARS") == declared("KB_PASSAGE_CHARS").default
    assert env_int({}, "KB_PASSAGE_CHARS", 9) == 9  # a caller's own default still wins
    assert env_int({"KB_PASSAGE_CHARS": "80"}, "KB_PASSAGE_CHARS") == 80
    assert env_bool({"STORE_ECHO_SQL": " "}, "STORE_ECHO_SQL") is declared("STORE_ECHO_SQL").default
    assert env_list({}, "MAIL_RECIPIENTS") == declared("MAIL_RECIPIENTS").default
    assert env_str({}, "RASA_URL") == ""  # derived by its reader: no fixed default
    env = {"NORDVIK_VAR_DIR": "/srv/nordvik"}
    assert env_state_path(env, "KB_DIR") == state_dir(env) / str(declared("KB_DIR").default)


def test_process_env_copies_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    copy = process_env(TRANSFORMERS_OFFLINE="1")
    assert copy["HF_HUB_OFFLINE"] == "0" and copy["TRANSFORMERS_OFFLINE"] == "1"
    copy["HF_HUB_OFFLINE"] = "changed"
    assert env_str(None, "HF_HUB_OFFLINE") == "0"
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    set_default("OMP_WAIT_POLICY", "PASSIVE")
    set_default("OMP_WAIT_POLICY", "ACTIVE")
    assert env_str(None, "OMP_WAIT_POLICY") == "PASSIVE"


def test_settings_classes_read_declared_names(tmp_path: Path) -> None:
    """Names built at run time (VOICE_NUMBER_<language>) are checked by reading them."""
    from analytics.settings import AnalyticsSettings
    from bot.settings import SlackSettings
    from dashboard.settings import DashboardSettings
    from kb_index.settings import KbSettings
    from messaging.settings import MessagingSettings
    from nlu.settings import NluSettings
    from runtime.settings import RuntimeSettings
    from store.settings import StoreSettings
    from voice.settings import VoiceSettings

    env = {"NORDVIK_VAR_DIR": str(tmp_path), "VOICE_NUMBER_SV": "+46 8 123 456 78"}
    for settings in (AnalyticsSettings, SlackSettings, DashboardSettings, KbSettings,
                     MessagingSettings, NluSettings, RuntimeSettings, StoreSettings,
                     VoiceSettings):
        assert settings.from_env(env) is not None


def test_the_settings_page_is_current() -> None:
    page = REPO_ROOT / "docs" / "SETTINGS.md"
    assert page.read_text(encoding="utf-8") == render(), (
        "run `.venv/bin/python -m nordvik.variables.table --write docs/SETTINGS.md`")
    for variable in VARIABLES:
        assert f"| `{variable.name}` |" in page.read_text(encoding="utf-8")
    for linking in ("README.md", "docs/OPERATIONS.md"):
        assert "SETTINGS.md" in (REPO_ROOT / linking).read_text(encoding="utf-8")


# fields whose unset value is computed by from_env (a model id, a secret, a parsed schedule)
DERIVED_FIELDS = {
    "KbSettings": {"model", "english_model"}, "RuntimeSettings": {"haproxy_bin"},
    "VoiceSettings": {"hours"}, "MailSettings": {"webhook_token"},
    "HandoffSettings": {"rasa_token"}, "ChannelSettings": {"internal_token"},
    "ActionServerSettings": {"token"},
}


def test_a_settings_class_defaults_to_what_an_empty_environment_gives(tmp_path: Path) -> None:
    """A dataclass field's own default may not drift from the declared default."""
    from bot.settings import SlackSettings
    from handoff.relay import HandoffSettings
    from kb_index.settings import KbSettings
    from mail.settings import MailSettings
    from messaging.settings import MessagingSettings
    from rasa_addons.settings import ActionServerSettings, ChannelSettings
    from runtime.settings import RuntimeSettings
    from store.settings import StoreSettings, VerificationLimits
    from voice.settings import VoiceSettings
    from web.serve import WebSettings

    env = {"NORDVIK_VAR_DIR": str(state_dir())}  # the folder a bare dataclass defaults to
    drift = []
    for settings in (SlackSettings, HandoffSettings, KbSettings, MailSettings, MessagingSettings,
                     ActionServerSettings, ChannelSettings, RuntimeSettings, StoreSettings,
                     VerificationLimits, VoiceSettings, WebSettings):
        bare, read = settings(), settings.from_env(env)
        skip = DERIVED_FIELDS.get(settings.__name__, set())
        drift += [f"{settings.__name__}.{field.name}: {getattr(bare, field.name)!r} != "
                  f"{getattr(read, field.name)!r}" for field in dataclasses.fields(settings)
                  if field.name not in skip and getattr(bare, field.name) != getattr(
                      read, field.name)]
    assert not drift, "\n".join(drift)
