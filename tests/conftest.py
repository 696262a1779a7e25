"""Suite-wide settings: everything offline, and the installation's state in a folder of its own.

Nothing here reads or writes the checkout's `var/`, where `make run` keeps its secrets,
databases, knowledge index and mail spool: the suite's state folder (NORDVIK_VAR_DIR, see
nordvik.env.state_dir) is a new temporary folder per session, inherited by every server a test
starts. Two things are shared with the checkout on purpose, because they are pure functions of
the committed inputs and cannot change a result: the trained model in models/ (the rasa_model
fixture reuses the one `make run` trained) and the NLU vector cache (NLU_CACHE_DIR), a cache of
sentence vectors keyed by encoder and text.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent.parent

# No model or data set may be downloaded at run time; the embedding model ships in a package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

os.environ.setdefault("NLU_CACHE_DIR", str(_REPO / "var" / "cache" / "nlu"))
_STATE = tempfile.mkdtemp(prefix="nordvik-test-state-")
os.environ["NORDVIK_VAR_DIR"] = _STATE
atexit.register(shutil.rmtree, _STATE, ignore_errors=True)


# Test packages that run whole on one pytest-xdist worker: e2e shares one Rasa stack across its
# files (package-scoped fixtures).
_WHOLE_PACKAGES = frozenset({"e2e"})
# The security tests on the package's shared stack (tests/security/conftest.py) run as one group,
# after every other group: its last test scans the logs the other groups' stacks wrote. The
# security package's other files (their own stacks, or none) are groups like any other.
_LAST_GROUP = "security"
_LAST_GROUP_FIXTURE = "security_stack"
_HEAVY_MARKS = ("integration", "browser", "slow")  # tests that start servers or train
# A rough cost, to start the longest groups first: a group whose tests start servers pays their
# start once; `pytest.mark.slow(seconds=N)` states a test known to take much longer.
_GROUP_START_SECONDS = 60.0
_HEAVY_SECONDS = 5.0
_LIGHT_SECONDS = 0.05


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks (--dist loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite on every core (pytest-xdist, `--dist loadgroup`). A test file
    (or a package of _WHOLE_PACKAGES) runs whole on one worker, so what its tests share starts
    once, as in a serial run; each worker has its own state folder (above), and its servers take
    free ports. On a worker the groups go by their rough cost, longest first, so that no long
    group is left to run alone at the end; the tests on the security stack go last (their leak
    scan reads what the others wrote)."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group_of(item)))
        groups.setdefault(_group_of(item), []).append(item)
    if hasattr(config, "workerinput"):
        ordered = sorted(groups.values(), key=_cost, reverse=True)  # stable: ties keep order
        ordered.sort(key=lambda group: _group_of(group[0]) == _LAST_GROUP)
        items[:] = [item for group in ordered for item in group]


def _group_of(item: pytest.Item) -> str:
    path = Path(str(item.path)).relative_to(_REPO / "tests")
    if path.parts[0] in _WHOLE_PACKAGES:
        return path.parts[0]
    if _LAST_GROUP_FIXTURE in getattr(item, "fixturenames", ()):
        return _LAST_GROUP
    return path.as_posix()


def _cost(group: list[pytest.Item]) -> float:
    seconds = [_test_cost(item) for item in group]
    return sum(seconds) + (_GROUP_START_SECONDS if max(seconds) > _LIGHT_SECONDS else 0.0)


def _test_cost(item: pytest.Item) -> float:
    slow = item.get_closest_marker("slow")
    if slow is not None and "seconds" in slow.kwargs:
        return float(slow.kwargs["seconds"])
    heavy = any(item.get_closest_marker(mark) for mark in _HEAVY_MARKS)
    return _HEAVY_SECONDS if heavy else _LIGHT_SECONDS
