"""Cheaper action calls in the Rasa server, same behaviour.

Rasa 3.6 validates every action-server response with `jsonschema.validate(result, schema)`,
which checks the schema and builds a new validator on each call: about a fifth of the Rasa
side's time per turn in the profile (reports/turn_profile_project.txt, "jsonschema" frames).
`install()` makes `RemoteAction._validate_action_result` check the schema once and reuse one
validator; valid responses pass and invalid ones raise the same ValidationError with Rasa's
message. The Rasa launcher (rasa_addons.rasa_server) calls it before Rasa starts.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = "_nordvik_cached_validator"


def install() -> None:
    """Patch RemoteAction once per process (idempotent)."""
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

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
