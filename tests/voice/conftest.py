from __future__ import annotations

from tests.support.fixtures import rasa_model, test_store  # noqa: F401
