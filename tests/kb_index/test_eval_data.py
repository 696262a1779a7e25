"""The shipped labelled queries: enough per language, a fixed split, every id an article."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from kb_index.evaluation import load_qrels

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "knowledge" / "eval"


def _article_ids() -> dict[str, str]:
    ids = {}
    for path in (ROOT / "knowledge" / "articles").glob("*/*.md"):
        match = re.search(r"^id:\s*(\S+)", path.read_text(encoding="utf-8"), re.M)
        assert match, path
        ids[match.group(1)] = path.parent.name
    return ids


@pytest.mark.parametrize("lang", ["en", "sv", "nb", "zh"])
def test_query_files_are_split_and_point_at_articles(lang: str) -> None:
    path = EVAL / f"queries_{lang}.jsonl"
    queries = load_qrels(path)
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    ids = _article_ids()
    assert all(q.lang == lang for q in queries)
    assert all(q.relevant <= set(ids) for q in queries)
    assert all(ids[a] == lang for q in queries for a in q.relevant)  # same-language answers
    assert len({q.query for q in queries}) == len(queries)  # no duplicates
    splits = Counter(item["split"] for item in raw)  # every line says which split it is in
    assert set(splits) == {"fit", "report"}
    assert splits["report"] >= 0.4 * len(queries) and splits["fit"] >= 0.4 * len(queries)
    if lang != "en":
        assert len(queries) >= 100  # 60 written as customers write, on top of the first 45
