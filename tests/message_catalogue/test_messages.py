"""catalogue.messages: rendering a response by name, language and parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from message_catalogue.messages import Button, Catalogue, CatalogueError, fill, get_catalogue


def lang(value: str) -> list[dict[str, str]]:
    return [{"type": "slot", "name": "language", "value": value}]


SMALL = Catalogue({
    "utter_hello": [
        {"condition": lang("sv"), "text": "Hej {who}! Order {order_number}."},
        {"text": "Hi {who}! Order {order_number}."},
        {"condition": lang("zh"), "text": "你好 {who}！"},
    ],
    "utter_english_only": [{"text": "Only in English, {who}."}],
    "utter_buttons": [
        {"condition": lang("nb"), "text": "Ja eller nei?", "buttons": [
            {"title": "Ja, {who}", "payload": "/affirm"},
            {"title": "Nei", "payload": '/inform{{"return_reason": "nei"}}'}]},
        {"text": "Yes or no?", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
    ],
    "utter_braces": [{"text": "Literal {{braces}} and {value}"}],
})


def test_renders_by_language_with_english_as_the_unconditioned_variation() -> None:
    assert SMALL.text("utter_hello", "sv", who="Anna", order_number="A10001") == (
        "Hej Anna! Order A10001.")
    assert SMALL.text("utter_hello", "en", who="Anna", order_number="A10001") == (
        "Hi Anna! Order A10001.")
    assert SMALL.render("utter_hello", "zh", who="Anna").text == "你好 Anna！"
    assert SMALL.languages("utter_hello") == {"en", "sv", "zh"}


@pytest.mark.parametrize("language", ["nb", None, "de", "", "SV"])
def test_falls_back_to_english(language: str | None) -> None:
    rendered = SMALL.render("utter_hello", language, who="Erik", order_number="A1")
    assert rendered.language == "en" and rendered.text == "Hi Erik! Order A1."
    assert SMALL.render("utter_english_only", "zh", who="you").text == "Only in English, you."


def test_buttons_are_rendered_with_their_payloads() -> None:
    rendered = SMALL.render("utter_buttons", "nb", who="Erik")
    assert rendered.text == "Ja eller nei?"
    assert rendered.buttons == (Button("Ja, Erik", "/affirm"),
                                Button("Nei", '/inform{"return_reason": "nei"}'))
    assert SMALL.render("utter_buttons", "sv").buttons == (Button("Yes", "/affirm"),)


def test_fill_leaves_missing_and_none_placeholders_and_keeps_literal_braces() -> None:
    assert fill("Order {order_number} for {name}", {"order_number": "A1"}) == (
        "Order A1 for {name}")
    assert fill("Order {order_number}", {"order_number": None}) == "Order {order_number}"
    assert fill("{{not a placeholder}} {x}", {"x": 1, "not a placeholder": "no"}) == (
        "{not a placeholder} 1")
    assert SMALL.text("utter_braces", "en", value=5, braces="no") == "Literal {braces} and 5"


def test_parameters_are_not_filled_twice() -> None:
    assert fill("{a} {b}", {"a": "{b}", "b": "x"}) == "{b} x"


def test_an_unknown_name_is_a_catalogue_error() -> None:
    with pytest.raises(CatalogueError, match="utter_nope"):
        SMALL.render("utter_nope", "en")
    with pytest.raises(CatalogueError):
        SMALL.languages("utter_nope")
    assert issubclass(CatalogueError, KeyError)


def test_variations_may_only_depend_on_the_language() -> None:
    with pytest.raises(CatalogueError, match="only be conditioned on the language"):
        Catalogue({"utter_x": [{"condition": [{"type": "slot", "name": "csat_due",
                                               "value": True}], "text": "x"}]})
    with pytest.raises(CatalogueError, match="unknown language"):
        Catalogue({"utter_x": [{"condition": lang("de"), "text": "Hallo"}]})


def test_from_domain_reads_every_file_and_refuses_a_name_twice(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        'responses:\n  utter_a:\n    - text: "A {x}"\n', encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        'responses:\n  utter_b:\n    - condition:\n        - type: slot\n          name: language'
        '\n          value: sv\n      text: "B på svenska"\n    - text: "B"\n', encoding="utf-8")
    catalogue = Catalogue.from_domain(tmp_path)
    assert catalogue.names() == ["utter_a", "utter_b"]
    assert catalogue.text("utter_b", "sv") == "B på svenska"
    (tmp_path / "c.yml").write_text('responses:\n  utter_a:\n    - text: "again"\n',
                                    encoding="utf-8")
    with pytest.raises(CatalogueError, match="defined twice"):
        Catalogue.from_domain(tmp_path)


def test_the_repositorys_catalogue_renders_in_each_language() -> None:
    catalogue = get_catalogue()
    texts = {language: catalogue.text("utter_handoff_started", language, case_id=12, minutes=5)
             for language in ("en", "sv", "nb", "zh")}
    assert len(set(texts.values())) == 4
    assert all("#12" in text and "5" in text and "{" not in text for text in texts.values())
    assert "ärende #12" in texts["sv"] and "案件 #12" in texts["zh"]
