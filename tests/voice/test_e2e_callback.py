"""Calls end to end, out of hours: asking for a person opens a callback case in the CRM with the
caller's number and language, and its Slack post holds the button to log the call's outcome.
A withheld number gets no callback promise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.callbacks import CALLBACK_ACTION_PREFIX
from message_catalogue.messages import get_catalogue
from store.models import SupportCase
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.support.rasa_stack import RasaStack
from tests.voice.support import CALLERS, HANDOFF_CHANNEL, PERSON, Call, voice_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(rasa_model: Path, crm: OrderStore, slack: FakeSlackApi,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    with voice_stack(tmp_path_factory.mktemp("voice-cb-stack"), crm, slack, "none",
                     rasa_model) as running:
        yield running


def callback_cases(crm: OrderStore) -> list[SupportCase]:
    with Session(crm.engine, future=True) as session:
        return list(session.execute(select(SupportCase).where(
            SupportCase.subject.like("Phone callback:%"))).scalars().all())


@pytest.mark.parametrize("lang", ["en", "sv", "nb", "zh"])
def test_a_person_out_of_hours_is_a_callback_case(stack: RasaStack, crm: OrderStore,
                                                  slack: FakeSlackApi, lang: str) -> None:
    caller = CALLERS[lang]
    call = Call(stack, lang, caller=caller.phone)
    call.start()
    page = call.say(PERSON[lang])
    assert page.hangup and page.dial_number is None
    assert page.text == get_catalogue().text("utter_phone_callback", lang)
    cases = [case for case in callback_cases(crm) if caller.phone in case.subject]
    assert len(cases) == 1 and f"({lang})" in cases[0].subject
    assert cases[0].channel == "phone" and cases[0].status == "open"
    handoff = [p for p in slack.posts(channel=HANDOFF_CHANNEL) if not p.get("thread_ts")
               and f"({lang})" in str(p.get("blocks"))]
    assert handoff, "no handoff thread"
    buttons = [p for p in slack.posts(channel=HANDOFF_CHANNEL)
               if CALLBACK_ACTION_PREFIX in str(p.get("blocks")) and caller.phone in str(p)]
    assert len(buttons) == 1 and buttons[0].get("thread_ts")  # in the handoff's thread


def test_a_withheld_number_gets_no_callback_promise(stack: RasaStack, crm: OrderStore) -> None:
    call = Call(stack, "en", caller="anonymous")
    call.start()
    page = call.say(PERSON["en"])
    assert page.hangup
    assert page.text == get_catalogue().text("utter_phone_callback_withheld", "en")
