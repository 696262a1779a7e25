from pathlib import Path

import pytest

from kb_index.errors import KnowledgeError
from kb_index.feedback import FeedbackStore


def test_votes_and_gaps_round_trip(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fb.db'}")
    store.record_vote("U1", "where is my parcel", "shipping-sweden", "helpful", "slack")
    store.record_vote("U2", "where is my parcel", "shipping-sweden", "not_helpful", "slack")
    store.record_vote("U2", "refund time", "refunds", "helpful", "slack")
    store.record_gap("Do you sell  bikes?", "rasa", "en")
    store.record_gap("do you sell bikes?", "slack", "en")
    store.record_gap("Säljer ni cyklar?", "rasa", "sv")

    votes = {v.article_id: v for v in store.votes()}
    assert votes["shipping-sweden"].helpful == 1
    assert votes["shipping-sweden"].not_helpful == 1
    assert votes["refunds"].helpful == 1
    assert sorted(store.helpful_pairs()) == [
        ("refund time", "refunds"),
        ("where is my parcel", "shipping-sweden"),
    ]
    gaps = store.gaps()
    assert gaps[0].query == "do you sell bikes?"
    assert gaps[0].count == 2
    assert gaps[0].sources == ("rasa", "slack")
    assert {g.language for g in gaps} == {"en", "sv"}
    store.dispose()


def test_bad_vote_is_rejected(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fb.db'}")
    with pytest.raises(KnowledgeError, match="vote 'meh'"):
        store.record_vote("U1", "q", "a", "meh", "slack")
    with pytest.raises(KnowledgeError, match="empty query"):
        store.record_gap("  ", "rasa", "en")
