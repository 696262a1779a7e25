"""nlu.warm_cache: the training texts encoded into the NLU cache beside `rasa train`, and the
featurizer waiting for it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from nlu.embeddings import EmbeddingCache, wait_for_warming, warming
from nlu.warm_cache import featurizer_config, training_texts, warm
from nordvik.e5 import MODEL_ID

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config.yml"
    config.write_text(textwrap.dedent("""\
        recipe: default.v1
        language: en
        pipeline:
          - name: nlu.reading.MultilingualTokenizer
          - name: nlu.featurizers.SentenceEmbeddingFeaturizer
            encoder: e5
          - name: nlu.classifiers.LinearIntentClassifier
        policies: []
        """), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text(textwrap.dedent("""\
        version: "3.1"
        nlu:
          - intent: greet
            examples: |
              - hello there
              - hej hej
          - intent: faq/returns
            examples: |
              - how do I return a lamp?
        """), encoding="utf-8")
    return config, data


def test_the_texts_are_the_nlu_examples_once(tmp_path: Path) -> None:
    _, data = _project(tmp_path)
    (data / "stories.yml").write_text(textwrap.dedent("""\
        version: "3.1"
        stories:
          - story: greet
            steps:
              - intent: greet
              - action: utter_faq/returns
        """), encoding="utf-8")
    (data / "more.yml").write_text(textwrap.dedent("""\
        version: "3.1"
        nlu:
          - intent: greet
            examples: |
              - hello there
              - god morgon
        """), encoding="utf-8")
    texts = training_texts(data)
    assert sorted(texts) == sorted(["hello there", "hej hej", "how do I return a lamp?",
                                    "god morgon"])


def test_warm_fills_the_cache_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("NLU_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("NLU_FEATURE_CACHE", raising=False)
    config, data = _project(tmp_path)
    assert warm(config, data) == 3
    cached = EmbeddingCache(cache_dir, MODEL_ID).get_many(training_texts(data))
    assert len(cached) == 3 and all(v.shape == (384,) for v in cached.values())
    assert warm(config, data) == 0


def test_nothing_is_encoded_with_the_cache_off(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NLU_FEATURE_CACHE", "0")
    config, data = _project(tmp_path)
    assert warm(config, data) == 0
    assert not (tmp_path / "cache" / "sentence_embeddings.sqlite").exists()


def test_the_project_config_has_the_featurizer() -> None:
    component = featurizer_config(ROOT / "config.yml")
    assert component is not None and component["name"].endswith("SentenceEmbeddingFeaturizer")


def test_waiting_returns_at_once_when_no_one_warms(tmp_path: Path) -> None:
    assert wait_for_warming(tmp_path) == 0.0


def test_the_featurizer_side_waits_until_the_warmer_lets_go(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from nlu.embeddings import warming\n"
         f"with warming(Path({str(tmp_path)!r})):\n"
         "    print('held', flush=True); sys.stdin.readline()"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    waiter = threading.Thread(target=wait_for_warming, args=(tmp_path,))
    waiter.start()
    waiter.join(timeout=0.5)
    assert waiter.is_alive(), "wait_for_warming returned while the cache was being filled"
    holder.stdin.write("done\n")
    holder.stdin.flush()
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert holder.wait(timeout=30) == 0
    with warming(tmp_path):  # and the lock can be taken again
        pass
