from datetime import date

import numpy as np

from kb_index.nlp import analyze
from kb_index.passages import passage_id, split_article
from kb_index.types import Article
from nordvik.languages import detect_language_or_none


def _article(body: str, lang: str = "en") -> Article:
    return Article(
        id="doc", title="Title", language=lang, audience="public", owner="o",
        updated=date(2026, 1, 1), review_by=date(2027, 1, 1), body=body, path="p", url="u",
    )


def test_passages_carry_heading_path_and_respect_size() -> None:
    body = (
        "## Returns\nIntro sentence here.\n### Window\n"
        + " ".join(f"Sentence number {i} is here." for i in range(20))
        + "\n## Refunds\nMoney back in five days."
    )
    passages = split_article(_article(body), max_chars=120, overlap=1)
    assert passages[0].heading_path == ("Returns",)
    window = [p for p in passages if p.heading_path == ("Returns", "Window")]
    assert len(window) > 2
    assert all(len(p.text) <= 160 for p in window)
    # one sentence of overlap between consecutive passages of a section
    assert window[0].text.split(". ")[-1].rstrip(".") in window[1].text
    assert passages[-1].heading_path == ("Refunds",)
    assert passages[-1].title == "Title"
    assert [p.id for p in passages] == [passage_id("doc", i) for i in range(len(passages))]


def test_passage_ids_are_stable_and_positive() -> None:
    assert passage_id("returns", 3) == passage_id("returns", 3)
    assert passage_id("returns", 3) != passage_id("refunds", 3)
    assert 0 < passage_id("returns", 16383) < 2**63


def test_chinese_sentences_and_bigrams() -> None:
    body = "## 退貨\n商品送達後三十天內可以退貨。請保留包裝！"
    passages = split_article(_article(body, "zh"), 10, 0)
    assert [p.text for p in passages] == ["商品送達後三十天內可以退貨。", "請保留包裝！"]
    terms = analyze("退貨期限", "zh")
    assert "退貨" in terms and "期限" in terms


def test_language_aware_stemming() -> None:
    assert analyze("returerna", "sv") == analyze("returer", "sv") == ["retur"]
    assert "återbetalning" in analyze("återbetalningen", "sv")
    assert analyze("refunds", "en") == ["refund"]
    assert "the" not in analyze("the refund", "en")


def test_query_language_detection() -> None:
    assert detect_language_or_none("where is my order") == "en"
    assert detect_language_or_none("var är min beställning") == "sv"
    assert detect_language_or_none("hvor er bestillingen min") == "nb"
    assert detect_language_or_none("我的訂單在哪裡") == "zh"
    assert detect_language_or_none("ok") is None


def test_query_terms_typed_without_diacritics_take_the_indexed_spelling() -> None:
    from kb_index.lexical import LexicalIndex

    docs = [analyze("Returfrakten är gratis för beställningen", "sv"),
            analyze("Hur lång tid tar leveransen? Beställning och leverans", "sv"),
            analyze("Han har långt hår", "sv"),
            analyze("Pakken kommer fram før fredag", "nb")]
    index = LexicalIndex.build(docs)
    typed = analyze("hur lang tid tar bestallningen", "sv")
    assert "bestallning" in typed and "lang" in typed
    spelled = index.spelled_as_indexed(typed)
    assert spelled == analyze("hur lång tid tar beställningen", "sv")
    # indexed terms and terms with no indexed spelling stay as typed
    assert index.spelled_as_indexed(["hår", "gratis", "unknown"]) == ["hår", "gratis", "unknown"]
    assert index.spelled_as_indexed(["har"]) == ["hår"]  # "har" (has) is a stop word, never indexed
    plain = index.normalized_scores(typed)[0]
    expanded = index.normalized_scores(spelled)[0]
    assert expanded[1] > plain[1] and int(np.argmax(expanded)) == 1
