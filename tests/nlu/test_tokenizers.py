"""MultilingualTokenizer: NFKC text, jieba for Chinese, offsets into the text as typed."""

from __future__ import annotations

import pytest
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.text import normalize_with_offsets, original_span
from nlu.tokenizers import MultilingualTokenizer, split_words
from nordvik.text import normalize


def _tokens(text: str) -> list[Token]:
    [message] = MultilingualTokenizer(MultilingualTokenizer.get_default_config()).process(
        [Message(data={TEXT: text})]
    )
    tokens: list[Token] = message.get("text_tokens")
    return tokens


@pytest.mark.parametrize(
    "text",
    ["Ａ１２３４５　ok", "plain text", "e\u0301cole ﬁne", "我的訂單A12345到哪了", "", "a\x00b",
     "ｈｅｊ！"],
)
def test_normalisation_is_nordviks_rule_with_offsets(text: str) -> None:
    normalized, offsets = normalize_with_offsets(text)
    assert normalized == normalize(text)
    assert len(offsets) == len(normalized) + 1
    assert offsets == sorted(offsets) and offsets[-1] == len(text)


def test_spans_map_back_to_what_was_typed() -> None:
    text = "ﬁx Ａ１２"
    normalized, offsets = normalize_with_offsets(text)
    assert normalized == "fix A12"
    assert original_span(offsets, 0, 3) == (0, 2)  # "fix" comes from "ﬁx"
    assert original_span(offsets, 4, 7) == (3, 6)


def test_chinese_is_segmented_and_a_glued_order_number_is_its_own_token() -> None:
    text = "我的訂單A12345到哪了"
    tokens = _tokens(text)
    assert "A12345" in [t.text for t in tokens]
    assert "訂單" in [t.text for t in tokens]
    assert "".join(t.text for t in tokens) == text
    for token in tokens:
        assert text[token.start : token.end] == token.text


def test_full_width_text_gives_ascii_tokens_with_original_offsets() -> None:
    text = "order Ａ１２３４５, ｐｌｅａｓｅ"
    tokens = _tokens(text)
    assert [t.text for t in tokens] == ["order", "A12345", "please"]
    assert [text[t.start : t.end] for t in tokens] == ["order", "Ａ１２３４５", "ｐｌｅａｓｅ"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("var är mitt paket?", ["var", "är", "mitt", "paket"]),
        ("hvor er pakken min nå??", ["hvor", "er", "pakken", "min", "nå"]),
        ("it's anna.berg@example.com, thanks", ["it's", "anna.berg@example.com", "thanks"]),
        ("I'd give it 4.5/5 :)", ["I'd", "give", "it", "4.5", "5"]),
        ("我的order到哪了", ["我", "的", "order", "到", "哪", "了"]),
    ],
)
def test_words_in_every_language(text: str, words: list[str]) -> None:
    assert [w for w, _, _ in split_words(text)] == words


@pytest.mark.parametrize("text", ["??", ":)", "👍", ""])
def test_text_without_words_is_one_token(text: str) -> None:
    tokens = _tokens(text)
    assert len(tokens) == 1
    assert tokens[0].text == text.strip()


def test_training_data_is_tokenized_and_intents_are_not_split() -> None:
    data = TrainingData([Message(data={TEXT: "我想退貨", "intent": "start_return"})])
    MultilingualTokenizer(MultilingualTokenizer.get_default_config()).process_training_data(data)
    [example] = data.training_examples
    assert [t.text for t in example.get("text_tokens")] == ["我想", "退貨"]
    assert [t.text for t in example.get("intent_tokens")] == ["start_return"]
