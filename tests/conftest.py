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
