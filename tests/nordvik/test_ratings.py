"""The 1-5 rating rule, shared by the action server and the analytics pipeline."""

from __future__ import annotations

import pytest

from actions.csat import parse_rating as action_server_rule
from analytics.facts import typed_rating
from nordvik.ratings import RATING_ENTITY, parse_rating


@pytest.mark.parametrize(("text", "rating"), [
    ("4", 4), ("5 stars", 5), ("4/5", 4), ("fyra", 4), ("fem", 5), ("五顆星", 5),
    ("", None), ("10", None), ("3 or 4", None), ("/affirm", None), ("fem stjärnor är bra", None),
])
def test_typed_ratings(text: str, rating: int | None) -> None:
    assert parse_rating({"text": text}) == rating
    assert typed_rating(text) == rating


def test_the_button_entity_wins_over_the_text() -> None:
    message = {"text": "/csat{\"csat_rating\": \"2\"}",
               "entities": [{"entity": RATING_ENTITY, "value": "2"}]}
    assert parse_rating(message) == 2
    assert parse_rating({"text": "", "entities": [{"entity": RATING_ENTITY, "value": "9"}]}) is None


def test_one_rule_for_the_action_server_and_analytics() -> None:
    assert action_server_rule is parse_rating
