"""Calls end to end, in hours: the real Rasa and action servers with the phone channel on, the
caller played as Twilio plays it (signed webhooks, TwiML read back, tests/voice/support.py
checks Twilio's TwiML rules on every page), Slack's Web API faked on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from message_catalogue.formatting import format_spoken_date
from message_catalogue.messages import get_catalogue
from store.models import CsatFeedback, Interaction, Order
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.support.rasa_stack import RasaStack
from tests.voice.support import (
    AGENTS,
    CALLERS,
    HANDOFF_CHANNEL,
    OTHER_CALLER,
    PERSON,
    POSTCODE,
    Call,
    analytics_facts,
    order_status,
    voice_stack,
)
from voice.calls import conversation_id
from voice.speech import spoken_order_number

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LANGS = ("en", "sv", "nb", "zh")
WHERE = {"en": "where is my order", "sv": "var är mitt paket", "nb": "hvor er pakken min",
         "zh": "我的訂單到哪了"}
HOURS = {"en": "when is customer service open", "sv": "när har ni öppet",
         "nb": "når har dere åpent", "zh": "客服時間"}
CANCEL = {"en": "I want to cancel my order", "sv": "jag vill avbeställa min beställning",
          "nb": "jeg vil kansellere bestillingen min", "zh": "取消訂單"}
YES = {"en": "yes please", "sv": "ja", "nb": "ja", "zh": "好"}


def say(name: str, language: str, **params: str) -> str:
    return get_catalogue().text(name, language, **params)


@pytest.fixture(scope="module")
def stack(rasa_model: Path, crm: OrderStore, slack: FakeSlackApi,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    with voice_stack(tmp_path_factory.mktemp("voice-stack"), crm, slack,
                     "mon-sun 00:00-24:00", rasa_model) as running:
        yield running


@pytest.mark.parametrize("lang", LANGS)
def test_status_from_the_customers_own_number(stack: RasaStack, crm: OrderStore,
                                              lang: str) -> None:
    caller = CALLERS[lang]
    call = Call(stack, lang, caller=caller.phone)
    assert say("utter_phone_greeting", lang) in call.start().text
    assert say("utter_phone_ask_order_number", lang) in call.say(WHERE[lang]).text
    page = call.press(caller.status_order[1:])
    assert spoken_order_number(caller.status_order) in page.text and "PostNord" in page.text
    assert say("utter_phone_ask_email", lang) not in page.text
    today = datetime.now(timezone.utc).date()  # the test orders are due in two days
    assert format_spoken_date(today + timedelta(days=2), lang, today) in page.text
    call.ended()
    tracker_db = Path(stack.env["TRACKER_DB"]).read_bytes()
    assert caller.phone.encode() not in tracker_db  # the caller ID is sealed at rest
    assert caller.phone[3:].encode() not in tracker_db
    with Session(crm.engine, future=True) as session:
        records = session.execute(select(Interaction).where(
            Interaction.channel == "phone", Interaction.order_number == caller.status_order)
        ).scalars().all()
    assert records and "outcome: caller hung up" in records[-1].text


@pytest.mark.parametrize("lang", LANGS)
def test_another_number_discloses_nothing_until_the_postcode(stack: RasaStack,
                                                             lang: str) -> None:
    caller = CALLERS[lang]
    call = Call(stack, lang, caller=OTHER_CALLER)
    call.start()
    call.say(WHERE[lang])
    spoken = " ".join(caller.status_order[1:])
    page = call.say(f"A {spoken}")
    assert say("utter_phone_ask_email", lang) in page.text
    wrong = call.press("99999")
    assert "PostNord" not in " ".join(call.heard)
    assert spoken_order_number(caller.status_order) in wrong.text  # the not-found reply
    page = call.press(POSTCODE)
    assert spoken_order_number(caller.status_order) in page.text and "PostNord" in page.text


@pytest.mark.parametrize("lang", LANGS)
def test_faq_call(stack: RasaStack, lang: str) -> None:
    call = Call(stack, lang, caller=CALLERS[lang].phone)
    call.start()
    page = call.say(HOURS[lang])
    assert "18" in page.text and page.gather_action  # answered, and still listening


@pytest.mark.parametrize("lang", LANGS)
def test_cancel_confirmed_by_a_spoken_yes_once(stack: RasaStack, crm: OrderStore,
                                               lang: str) -> None:
    caller = CALLERS[lang]
    call = Call(stack, lang, caller=caller.phone)
    call.start()
    call.say(CANCEL[lang])
    confirm = call.press(caller.cancel_order[1:])
    assert "1" in confirm.text and spoken_order_number(caller.cancel_order) in confirm.text
    assert order_status(crm, caller.cancel_order) == "paid"
    done = call.say(YES[lang])
    assert spoken_order_number(caller.cancel_order) in done.text
    assert order_status(crm, caller.cancel_order) == "cancelled"
    again = call.say(YES[lang])  # a second "yes" cancels nothing more
    assert again.status == 200 and order_status(crm, caller.cancel_order) == "cancelled"


@pytest.mark.parametrize("lang", LANGS)
def test_a_person_in_hours_is_a_dial_with_its_slack_thread(
        stack: RasaStack, crm: OrderStore, slack: FakeSlackApi, lang: str) -> None:
    caller = CALLERS[lang]
    call = Call(stack, lang, caller=caller.phone)
    call.start()
    call.say(WHERE[lang])
    call.press(caller.status_order[1:])
    page = call.say(PERSON[lang])
    assert page.dial_number == AGENTS and page.dial_action
    assert say("utter_phone_transfer", lang) in page.text
    posts = [p for p in slack.posts(channel=HANDOFF_CHANNEL)
             if caller.status_order in str(p.get("blocks"))]
    assert posts, "no handoff thread with the verified order"
    blocks = str(posts[0]["blocks"])
    assert f"({lang})" in blocks and "Phone" in str(posts[0].get("text"))
    assert WHERE[lang] in blocks  # the transcript so far
    rating = call.dial_ended("completed")
    assert say("utter_phone_csat", lang) in rating.text
    before = len(slack.posts())
    done = call.press("4")
    assert done.hangup and done.text == say("utter_phone_csat_thanks", lang)
    conv = conversation_id(call.fields["CallSid"])
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(CsatFeedback).where(
            CsatFeedback.conversation_id == conv)).scalars().all()
        # once, by the dialogue's rating action (it knows the verified customer), and with
        # the case of the transfer it rates
        assert [(row.rating, row.customer_id is not None) for row in rows] == [(4, True)]
        handoff = crm.find_open_handoff(conv)
        assert handoff is not None and rows[0].case_id == handoff.id
    facts = analytics_facts(stack, conv)  # what the dashboard's CSAT figure counts
    assert [(f.channel, f.language, f.csat_asked, f.csat_rating) for f in facts] == [
        ("phone", lang, True, 4)]
    # the handoff is still active, yet the key is no message for the agent's thread
    assert not any("csat" in str(post) for post in slack.posts()[before:])


THANKS = {"en": "thanks", "sv": "tack", "nb": "takk", "zh": "謝謝"}


@pytest.mark.parametrize("lang", LANGS)
def test_the_rating_after_an_answer_is_keyed(stack: RasaStack, crm: OrderStore,
                                             lang: str) -> None:
    caller = CALLERS[lang]
    call = Call(stack, lang, caller=caller.phone)
    call.start()
    call.say(WHERE[lang])
    call.press(caller.status_order[1:])
    asked = call.say(THANKS[lang])
    assert say("utter_phone_csat", lang) in asked.text
    assert "1" not in asked.text.replace(say("utter_phone_csat", lang), "")  # no choices read
    before = fives(crm)
    call.press("5")
    assert fives(crm) == before + 1  # stored by the dialogue's own rating action


def fives(crm: OrderStore) -> int:
    with Session(crm.engine, future=True) as session:
        return len(session.execute(select(CsatFeedback.id).where(
            CsatFeedback.conversation_id.like("phone-%"), CsatFeedback.rating == 5)
        ).scalars().all())


RETURN = {"en": "I want to return my order", "sv": "returnera", "nb": "jeg vil returnere lampa mi",
          "zh": "退貨"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_return_started_by_phone(stack: RasaStack, crm: OrderStore, lang: str) -> None:
    caller = CALLERS[lang]
    call = Call(stack, lang, caller=caller.phone)
    call.start()
    call.say(RETURN[lang])
    reasons = call.press(caller.return_order[1:])
    assert spoken_order_number(caller.return_order) in reasons.text
    assert reasons.gather_action and "c2=" in reasons.gather_action  # reasons on the keypad
    started = call.press("2")
    assert spoken_order_number(caller.return_order) in started.text
    with Session(crm.engine, future=True) as session:
        order = session.execute(select(Order).where(Order.number == caller.return_order)
                                ).scalar_one()
        assert len(order.returns) == 1


def test_calls_are_the_phone_channel_in_the_analytics(stack: RasaStack) -> None:
    """The event stream (Rasa's SQL event broker, what analytics consumes): a call is a
    conversation on channel "phone", in its language, with its keypad rating."""
    from analytics.mapping import channel_label

    caller = CALLERS["nb"]
    call = Call(stack, "nb", caller=caller.phone)
    call.start()
    call.say(WHERE["nb"])
    call.press(caller.status_order[1:])
    call.say(THANKS["nb"])
    call.press("3")
    facts = analytics_facts(stack)
    rated = [fact for fact in facts if fact.csat_rating == 3]
    assert rated and all(fact.channel == "phone" for fact in facts)
    assert rated[0].language == "nb" and channel_label("phone") == "phone"


def test_silence_twice_goes_to_a_person_never_a_loop(stack: RasaStack,
                                                     slack: FakeSlackApi) -> None:
    call = Call(stack, "sv", caller=OTHER_CALLER)
    call.start()
    again = call.silence()
    assert again.text == say("utter_phone_reprompt", "sv") and again.gather_action
    page = call.silence()
    assert page.dial_number == AGENTS  # in hours: the agents' line, with a Slack thread
    assert any("(sv)" in str(p.get("blocks")) and "Phone handoff" in str(p.get("text"))
               for p in slack.posts(channel=HANDOFF_CHANNEL))
