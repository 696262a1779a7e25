"""The call flow (voice/calls.py) with a scripted assistant: menu, re-prompt once then a person,
keypad answers, transfer in hours and callback out of hours; TwiML rules on every page."""

from __future__ import annotations

from typing import Any

import pytest

from message_catalogue.messages import get_catalogue
from nordvik.secrets import unseal
from tests.voice.twiml_rules import check_twiml
from voice.calls import CallFlow, CallRequest, CallTurn, conversation_id
from voice.channel import RasaAssistant, VoiceInput
from voice.player import read_page
from voice.settings import VoiceSettings, parse_hours

NUMBERS = {"+46812345601": "sv", "+46812345602": "nb", "+46812345603": "en",
           "+46812345604": "zh"}


class Assistant:
    def __init__(self, replies: list[list[dict[str, Any]]]) -> None:
        self.replies = replies
        self.heard: list[tuple[str, dict[str, Any]]] = []
        self.ratings: list[tuple[Any, ...]] = []  # what reached the dialogue's rating

    async def turn(self, conversation_id: str, text: str,
                   metadata: dict[str, Any]) -> list[dict[str, Any]]:
        self.heard.append((text, metadata))
        return self.replies.pop(0) if self.replies else []

    async def slots(self, conversation_id: str) -> dict[str, Any]:
        return {"handoff_case_id": 7.0, "verified_order": "A10001"}

    async def ask_rating(self, conversation_id: str) -> None:
        self.ratings.append(("asked", conversation_id))

    async def rate(self, conversation_id: str, rating: int, metadata: dict[str, Any]) -> None:
        self.ratings.append(("rated", conversation_id, rating, metadata["language"]))


class DownAssistant(Assistant):
    """Rasa's tracker store (or the agent) gone at the end of the call."""

    async def ask_rating(self, conversation_id: str) -> None:
        raise ConnectionError(f"tracker store down ({conversation_id}, +46701112233)")

    async def rate(self, conversation_id: str, rating: int, metadata: dict[str, Any]) -> None:
        raise ConnectionError(f"tracker store down ({conversation_id}, +46701112233)")


class Effects:
    def __init__(self) -> None:
        self.done: list[tuple[Any, ...]] = []

    def transferring(self, conversation_id: str, case_id: int | None) -> None:
        self.done.append(("transfer", case_id))

    def callback(self, conversation_id: str, case_id: int | None, phone: str | None,
                 language: str, order_number: str | None) -> int | None:
        self.done.append(("callback", case_id, phone, language, order_number))
        return 8


def flow(replies: list[list[dict[str, Any]]], *, hours: str = "mon-sun 00:00-24:00",
         agents: str = "+46812345699",
         assistant_class: type[Assistant] = Assistant) -> tuple[CallFlow, Assistant, Effects]:
    settings = VoiceSettings(auth_token="t", numbers=NUMBERS, agents_number=agents,
                             hours=parse_hours(hours))
    assistant, effects = assistant_class(replies), Effects()
    return CallFlow(settings, get_catalogue(), assistant, effects), assistant, effects


def request(state: dict[str, str] | None = None, *, caller: str | None = "+46701112233",
            dialled: str = "+46812345601", **fields: str) -> CallRequest:
    return CallRequest(call_sid="CA1", caller=caller, dialled=dialled, state=state or {},
                       **fields)


def state_of(turn: CallTurn, which: str = "gather_action") -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    page = read_page(200, "https://x.example/webhooks/phone/call", turn.twiml)
    return dict(parse_qsl(urlsplit(getattr(page, which) or "").query))


def checked(turn: CallTurn, language: str, *, menu: bool = False) -> CallTurn:
    assert check_twiml(turn.twiml, language, menu=menu) == []
    return turn


@pytest.mark.parametrize(("dialled", "language"), list(NUMBERS.items()))
def test_the_number_dialled_sets_the_language(dialled: str, language: str) -> None:
    call, _, _ = flow([])
    turn = checked(call.incoming(request(dialled=dialled)), language)
    assert state_of(turn)["l"] == language


async def test_menu_by_keypad_or_speech_and_never_a_loop() -> None:
    call, _, _ = flow([])
    first = checked(call.incoming(request(dialled="+4600000")), "en", menu=True)
    assert {lang for _, lang in read_page(200, "u", first.twiml).says} == {
        "sv-SE", "nb-NO", "en-GB", "zh-TW"}
    assert state_of(checked(call.menu(request({"n": "1"}, digits="2")), "nb"))["l"] == "nb"
    assert state_of(checked(call.menu(request({"n": "1"}, speech="中文")), "zh"))["l"] == "zh"
    again = checked(call.menu(request({"n": "1", "s": "1"})), "en", menu=True)
    assert state_of(again)["m"] == "1"
    last = checked(call.menu(request({"n": "2", "m": "1", "s": "1"})), "en")
    assert "Hello" in read_page(200, "u", last.twiml).text


async def test_silence_gets_one_reprompt_then_a_person() -> None:
    call, assistant, effects = flow([[{"utter_action": "utter_handoff_started", "text": "x"}]])
    once = checked(await call.gather(request({"l": "sv", "n": "3", "s": "1"})), "sv")
    assert state_of(once)["m"] == "1" and assistant.heard == []
    handed = checked(await call.gather(request({"l": "sv", "n": "4", "m": "1", "s": "1"})), "sv")
    assert assistant.heard[0][0] == "/request_human"
    assert handed.outcome == "transferred" and "<Dial" in handed.twiml
    assert effects.done == [("transfer", 7)]


async def test_not_understood_twice_goes_to_a_callback_out_of_hours() -> None:
    fallback = [{"utter_action": "utter_ask_rephrase", "text": "Sorry?"}]
    handoff = [{"utter_action": "utter_handoff_started_offline", "text": "x"}]
    call, _, effects = flow([fallback, fallback, handoff], hours="none")
    first = checked(await call.gather(request({"l": "nb", "n": "2"}, speech="blah")), "nb")
    assert state_of(first)["m"] == "1"
    second = checked(await call.gather(request({"l": "nb", "n": "3", "m": "1"},
                                               speech="blah")), "nb")
    assert second.outcome == "callback" and "<Hangup" in second.twiml
    assert effects.done == [("callback", 7, "+46701112233", "nb", "A10001")]


async def test_withheld_caller_gets_no_callback_promise() -> None:
    call, assistant, effects = flow([[{"utter_action": "utter_handoff_started", "text": "x"}]],
                                    agents="")
    turn = checked(await call.gather(request({"l": "en", "n": "2"}, caller=None,
                                             speech="a person please")), "en")
    assert "can't see your number" in read_page(200, "u", turn.twiml).text
    assert "phone" not in assistant.heard[0][1]
    assert effects.done[0][2] is None


async def test_keypad_answers_mean_what_was_asked() -> None:
    call, assistant, _ = flow([[{"utter_action": "utter_ask_email", "text": "e-mail?"}],
                               [], [], []])
    asked = checked(await call.gather(request({"l": "en", "n": "2"}, speech="where is it")), "en")
    assert state_of(asked)["k"] == "postcode"
    await call.gather(request({"l": "en", "n": "3", "k": "postcode"}, digits="11122"))
    text = assistant.heard[-1][0]
    assert text.startswith("/inform") and "11122" not in text
    sealed = text.split('"email": "')[1].rstrip('"}')
    assert unseal(sealed, purpose="postcode") == "11122"
    await call.gather(request({"l": "en", "n": "4", "k": "order"}, digits="10001"))
    assert assistant.heard[-1][0] == "A10001"
    await call.gather(request({"l": "en", "n": "5"}, speech="order a 1 0 0 0 1 please"))
    assert assistant.heard[-1][0] == "order A10001 please"
    assert unseal(assistant.heard[-1][1]["phone"], purpose="phone") == "+46701112233"


async def test_choices_by_keypad_and_zero_for_a_person() -> None:
    confirm = [{"utter_action": "utter_confirm_cancel", "text": "Cancel?",
                "buttons": [{"title": "Yes", "payload": "/affirm"},
                            {"title": "No", "payload": "/deny"}]}]
    call, assistant, _ = flow([confirm, [], []])
    turn = checked(await call.gather(request({"l": "zh", "n": "2"}, speech="取消訂單")), "zh")
    state = state_of(turn)
    assert state["c1"] == "/affirm" and state["c2"] == "/deny"
    assert state_of(turn, "fallback")["c1"] == "/affirm"
    await call.gather(request({**state, "n": "3"}, digits="1"))
    assert assistant.heard[-1][0] == "/affirm"
    await call.gather(request({"l": "zh", "n": "4"}, digits="0"))
    assert assistant.heard[-1][0] == "/request_human"


async def test_goodbye_asks_the_keypad_rating_and_the_dialogue_records_it() -> None:
    call, assistant, effects = flow([[{"utter_action": "utter_goodbye", "text": "Bye"}]])
    turn = checked(await call.gather(request({"l": "sv", "n": "5"}, speech="hej då")), "sv")
    page = read_page(200, "https://x.example/webhooks/phone/gather", turn.twiml)
    assert page.gather_action and "/csat" in page.gather_action
    assert page.gathers[0]["input"] == "dtmf"
    conv = conversation_id("CA1")
    assert assistant.ratings == [("asked", conv)]
    done = checked(await call.csat(request({"l": "sv", "n": "6"}, digits="5")), "sv")
    assert assistant.ratings == [("asked", conv), ("rated", conv, 5, "sv")]
    assert done.outcome == "resolved" and effects.done == []  # nothing stored by the channel
    checked(await call.csat(request({"l": "sv", "n": "6"}, digits="9")), "sv")
    assert assistant.ratings[-1] == ("rated", conv, 5, "sv")  # 9 is no rating


@pytest.mark.parametrize("lang", ["sv", "zh"])
async def test_rasa_or_the_store_down_the_caller_still_hears_thanks_and_goodbye(
        lang: str, caplog: pytest.LogCaptureFixture) -> None:
    call, _, _ = flow([], assistant_class=DownAssistant)
    asked = checked(await call.dial(request({"l": lang, "n": "4"}, dial_status="completed")),
                    lang)
    assert get_catalogue().text("utter_phone_csat", lang) in read_page(200, "u", asked.twiml).text
    done = checked(await call.csat(request({"l": lang, "n": "5"}, digits="4")), lang)
    page = read_page(200, "u", done.twiml)
    assert page.hangup and page.text == get_catalogue().text("utter_phone_csat_thanks", lang)
    assert done.outcome == "resolved"
    logged = [r.getMessage() for r in caplog.records if r.name == "voice.calls"]
    assert len(logged) == 2 and "rating" in logged[1] and "ConnectionError" in logged[1]
    assert not any("+4670" in text or "phone-" in text for text in caplog.messages)


async def test_no_rasa_agent_the_caller_still_hears_thanks_and_goodbye(
        caplog: pytest.LogCaptureFixture) -> None:
    async def never(_: Any) -> None:
        raise AssertionError("no message goes to Rasa")

    call, _, _ = flow([])
    call.assistant = RasaAssistant(VoiceInput(call.settings), never)  # served before Rasa is up
    await call.dial(request({"l": "nb", "n": "4"}, dial_status="completed"))
    done = checked(await call.csat(request({"l": "nb", "n": "5"}, digits="3")), "nb")
    page = read_page(200, "u", done.twiml)
    assert page.hangup and page.text == get_catalogue().text("utter_phone_csat_thanks", "nb")
    assert [r.getMessage().rsplit(": ", 1)[1] for r in caplog.records
            if r.name == "voice.calls"] == ["AssistantUnavailable", "AssistantUnavailable"]


async def test_dial_not_answered_becomes_a_callback() -> None:
    call, _, effects = flow([])
    turn = checked(await call.dial(request({"l": "en", "n": "4", "case": "7"},
                                           dial_status="no-answer")), "en")
    assert turn.outcome == "callback" and effects.done[0][:2] == ("callback", 7)
    assert _ratings(call) == []  # nobody answered: no rating question
    answered = checked(await call.dial(request({"l": "en", "n": "4"},
                                               dial_status="completed")), "en")
    assert 'action="csat?' in answered.twiml
    assert _ratings(call) == [("asked", conversation_id("CA1"))]


def _ratings(call: CallFlow) -> list[tuple[Any, ...]]:
    assistant = call.assistant
    assert isinstance(assistant, Assistant)
    return assistant.ratings
