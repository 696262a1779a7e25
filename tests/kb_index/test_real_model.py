"""The packaged all-MiniLM-L6-v2 model end to end: build, paraphrase search, update."""

import dataclasses

import pytest

from kb_index.builder import build
from kb_index.search import LiveIndex
from kb_index.settings import KbSettings, _default_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_packaged_model_finds_paraphrases(settings: KbSettings) -> None:
    real = dataclasses.replace(settings, model=_default_model())
    result = build(real)
    live = LiveIndex(real)
    manifest_dim = live.current.manifest["dimension"]
    assert manifest_dim == 384 and result.passages == live.current.vectors.shape[0]
    # few shared words with the article: dense retrieval has to carry it
    hit = live.current.search("how long until I can send back something I bought", mode="dense")
    assert hit[0].article_id == "returns-policy"
    hybrid = live.search("how long until I can send back something I bought")
    assert hybrid[0].article_id == "returns-policy"
    assert hybrid[0].score >= real.min_score
    # Swedish query: lexical side carries it
    assert live.search("returnera varor", lang="sv")[0].article_id == "retur-sv"
    nonsense = live.search("quantum chromodynamics lecture notes", audience=("public", "internal"))
    assert all(h.score < real.min_score for h in nonsense)
