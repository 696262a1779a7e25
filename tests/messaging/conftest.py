"""The messaging stack's fixtures (tests/messaging/stack.py) for the end-to-end tests."""

from tests.messaging.stack import (  # noqa: F401
    bolt,
    crm,
    env_patch,
    messaging_stack,
    model,
    platforms,
    slack,
)
from tests.support.fixtures import rasa_model  # noqa: F401
