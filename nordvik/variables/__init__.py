"""The one declaration of every environment variable the code reads.

Each variable is declared once (nordvik/variables/{core,knowledge,channels,analytics}.py) with
its type, its default, the services that read it and one line of help. nordvik.env's readers
refuse a name declared nowhere and take the default from here when the caller gives none.
`make settings` prints the table; docs/SETTINGS.md is the same table (`python -m
nordvik.variables --write docs/SETTINGS.md`).
"""

from __future__ import annotations

from collections import Counter

from nordvik.variables import analytics, channels, core, knowledge
from nordvik.variables.spec import SERVICES, UndeclaredVariableError, Variable

VARIABLES: tuple[Variable, ...] = (
    *core.VARIABLES, *knowledge.VARIABLES, *channels.VARIABLES, *analytics.VARIABLES,
)

_twice = sorted(name for name, n in Counter(v.name for v in VARIABLES).items() if n > 1)
if _twice:
    raise ValueError(f"declared more than once: {', '.join(_twice)}")
_BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}


def declared(name: str) -> Variable:
    """The declaration of `name`; UndeclaredVariableError when there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UndeclaredVariableError(name) from None


def is_declared(name: str) -> bool:
    return name in _BY_NAME


__all__ = ["SERVICES", "VARIABLES", "UndeclaredVariableError", "Variable", "declared",
           "is_declared"]
