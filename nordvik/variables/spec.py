"""What one declared environment variable is: name, type, default, services, help."""

from __future__ import annotations

from dataclasses import dataclass

Default = str | int | float | bool | tuple[str, ...] | None

# The processes (and tools) that read variables; `services` names only these.
SERVICES: dict[str, str] = {
    "rasa": "Rasa server with its channels (widget, REST, messaging, phone)",
    "actions": "action server",
    "kb": "kb serve, kb watch and the kb CLI",
    "slack": "Slack app (bot/)",
    "web": "demo store page (web/serve.py)",
    "mail": "e-mail receiver",
    "analytics": "analytics consumer",
    "dashboard": "analytics dashboard",
    "run": "make run: the supervisor, HAProxy, the watchdog, the endpoints file",
    "tools": "CLIs: store, train, demo data, send_test",
    "tests": "the test suite",
}

# str: text; int / float: numbers; bool: 1/0, true/false, yes/no, on/off; list: comma-separated;
# choice: one of the listed words; path: relative to the repository root; state path: relative
# to the repository root when set, else the default inside the state folder (NORDVIK_VAR_DIR);
# secret: from the environment, else generated once into var/secrets/; flag: set for a library.
KINDS = ("str", "int", "float", "bool", "list", "choice", "path", "state path", "secret", "flag")


class UndeclaredVariableError(LookupError):
    """Code read an environment variable that nordvik/variables/ does not declare."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"environment variable {name!r} is not declared: add it (type, default, services, "
            "help) to nordvik/variables/ before reading it"
        )
        self.name = name


@dataclass(frozen=True)
class Variable:
    """One environment variable. `default` is what the readers use when it is unset or blank
    (None: derived by the reader, described by `derived`)."""

    name: str
    kind: str
    default: Default
    services: tuple[str, ...]
    help: str
    derived: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        unknown = [s for s in self.services if s not in SERVICES]
        if unknown or not self.services:
            raise ValueError(f"{self.name}: unknown or no services {unknown}")
        if not self.help.strip() or "\n" in self.help:
            raise ValueError(f"{self.name}: help must be one line")

    def default_text(self) -> str:
        """The default as the settings table shows it."""
        if self.derived:
            return self.derived
        if self.default is None:
            return "(unset)"
        if isinstance(self.default, bool):
            return "1" if self.default else "0"
        if isinstance(self.default, tuple):
            return ",".join(self.default)
        if self.kind == "state path":
            return f"$NORDVIK_VAR_DIR/{self.default}"
        return str(self.default)


def var(name: str, kind: str, default: Default, services: str, help: str,
        derived: str = "") -> Variable:
    """A declaration, `services` written as one space-separated string; `derived` says what an
    unset variable means when that is computed by the reader (shown as the default)."""
    return Variable(name, kind, default, tuple(services.split()), help, derived)
