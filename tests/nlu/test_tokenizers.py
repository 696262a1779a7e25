"""MultilingualTokenizer: NFKC text, jieba for Chinese, offsets into the text as typed."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.reading import MultilingualTokenizer, split_words
from nordvik.text import fold_diacritics, normalize, normalize_with_offsets, original_span


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


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Var är min beställning?", "Var ar min bestallning?"),
        ("Får jag byta ÅTERBETALNING", "Far jag byta ATERBETALNING"),
        ("Jeg må få den før fredag", "Jeg ma fa den for fredag"),
        ("ærlig talt, Øystein", "aerlig talt, Oystein"),
        ("e\u0301cole café naïve", "ecole cafe naive"),
        ("我的訂單A12345到哪了 anna@example.se 12,5", "我的訂單A12345到哪了 anna@example.se 12,5"),
        ("", ""),
    ],
)
def test_fold_diacritics_drops_marks_from_latin_letters_only(text: str, folded: str) -> None:
    assert fold_diacritics(text) == folded


def _folding_tokens(text: str, fold: object) -> list[Token]:
    config = {**MultilingualTokenizer.get_default_config(), "fold_diacritics": fold}
    tokenizer = MultilingualTokenizer.create(config, None, None, None)  # type: ignore[arg-type]
    [message] = tokenizer.process([Message(data={TEXT: text})])
    tokens: list[Token] = message.get("text_tokens")
    return tokens


def test_folding_changes_lemmas_only() -> None:
    text = "Var är beställning A12345, tack"
    plain, folded = _folding_tokens(text, False), _folding_tokens(text, True)
    assert [t.text for t in folded] == [t.text for t in plain] == [
        "Var", "är", "beställning", "A12345", "tack"]
    assert [(t.start, t.end) for t in folded] == [(t.start, t.end) for t in plain]
    assert [t.lemma for t in plain] == [t.text for t in plain]
    assert [t.lemma for t in folded] == ["Var", "ar", "bestallning", "A12345", "tack"]


def _char_ngram_rows(fold: bool, texts: list[str], tmp_path: Path) -> list[list[float]]:
    """Rasa's character n-gram CountVectorsFeaturizer (as in config.yml) trained on `texts`
    tokenised with or without folding; each text's summed features."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )

    config = {**MultilingualTokenizer.get_default_config(), "fold_diacritics": fold}
    tokenizer = MultilingualTokenizer.create(config, None, None, None)  # type: ignore[arg-type]
    data = TrainingData([Message(data={TEXT: t, "intent": "x"}) for t in texts])
    tokenizer.process_training_data(data)
    storage = tmp_path / f"storage-{fold}"
    storage.mkdir()
    featurizer = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 1,
         "max_ngram": 4},
        LocalModelStorage(storage), Resource(f"cvf-{fold}"),
        ExecutionContext(GraphSchema({}), node_name="cvf"),
    )
    featurizer.train(data)
    featurizer.process_training_data(data)
    return [m.get_sparse_features(TEXT)[1].features.toarray().ravel().tolist()
            for m in data.training_examples]


def test_folded_words_get_the_same_character_ngrams(tmp_path: Path) -> None:
    typed = ["var är min beställning", "var ar min bestallning"]
    with_marks, without = _char_ngram_rows(True, typed, tmp_path)
    assert with_marks == without
    with_marks, without = _char_ngram_rows(False, typed, tmp_path)
    assert with_marks != without


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_fold_diacritics_must_be_a_boolean(value: object) -> None:
    with pytest.raises(InvalidConfigException, match="fold_diacritics must be true or false"):
        _folding_tokens("hej", value)
