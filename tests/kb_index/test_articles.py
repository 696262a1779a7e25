from datetime import date
from pathlib import Path

import pytest

from kb_index.articles import load_articles, parse_article
from kb_index.errors import ArticleError

GOOD = """---
id: {id}
title: Returns
language: {lang}
tags: [returns, refunds]
audience: public
owner: cx
updated: 2026-01-01
review_by: {review_by}
---
## Window
You have 30 days.
"""


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_parses_a_good_article(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.md", GOOD.format(id="returns", lang="sv", review_by="2027-01-01"))
    article = parse_article(path)
    assert article.id == "returns"
    assert article.language == "sv"
    assert article.tags == ("returns", "refunds")
    assert article.review_by == date(2027, 1, 1)
    assert article.url == "https://help.nordvik.example/articles/returns"
    assert article.body.startswith("## Window")
    assert len(article.content_hash) == 64


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no front matter at all\n", "bad front matter"),
        ("---\nid: [unclosed\n---\nbody\n", "bad front matter (invalid YAML"),
        ("---\n- a\n- b\n---\nbody\n", "bad front matter (expected key: value"),
        (GOOD.replace("id: {id}\n", ""), "missing id"),
        (GOOD.replace("owner: cx\n", ""), "missing owner"),
        (GOOD.split("---\n## Window")[0] + "---\n\n", "empty body"),
        (GOOD.split("---\n## Window")[0] + "---\n## Only a heading\n", "empty body"),
        (GOOD.replace("language: {lang}", "language: de"), "unknown language 'de'"),
        (GOOD.replace("audience: public", "audience: everyone"), "unknown audience"),
        (GOOD.replace("review_by: {review_by}", "review_by: 2026-13-45"), "bad date in review_by"),
        (GOOD.replace("id: {id}", "id: Bad Id!"), "bad id"),
    ],
)
def test_malformed_articles_name_file_and_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    text = content.replace("{id}", "x").replace("{lang}", "en").replace("{review_by}", "2027-01-01")
    path = _write(tmp_path / "broken.md", text)
    with pytest.raises(ArticleError) as info:
        parse_article(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_unreadable_encoding(tmp_path: Path) -> None:
    text = GOOD.format(id="x", lang="sv", review_by="2027-01-01").replace("30 days", "30 dagar å")
    path = _write(tmp_path / "latin1.md", text.encode("latin-1"))
    with pytest.raises(ArticleError, match="unreadable encoding"):
        parse_article(path)


def test_load_skips_bad_files_and_duplicates(tmp_path: Path) -> None:
    _write(tmp_path / "en/a.md", GOOD.format(id="a", lang="en", review_by="2027-01-01"))
    _write(tmp_path / "en/b.md", GOOD.format(id="a", lang="en", review_by="2027-01-01"))
    _write(tmp_path / "en/c.md", "garbage")
    articles, problems = load_articles(tmp_path)
    assert [a.id for a in articles] == ["a"]
    messages = sorted(p.message for p in problems)
    assert any("duplicate id 'a'" in m and "b.md" in m for m in messages)
    assert any("c.md" in m and "bad front matter" in m for m in messages)


def test_missing_source_folder(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="does not exist"):
        load_articles(tmp_path / "nope")
