"""The trained model for the runtime tests: NORDVIK_TEST_MODEL names one (quick local runs
while others change the training data), else the project's model, trained once if its inputs
changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def runtime_model() -> Path:
    given = os.environ.get("NORDVIK_TEST_MODEL")
    if given:
        return Path(given)
    from scripts.train import ensure_model

    return Path(ensure_model(quiet=True).model)
