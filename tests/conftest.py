"""Suite-wide settings: everything offline, nothing written outside tmp dirs and var/."""

from __future__ import annotations

import os

# No model or data set may be downloaded at run time; the embedding model ships in a package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
