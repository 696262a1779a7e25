"""What a call does outside Rasa: Slack notes, callback cases, the call's record.

- Transfer (in hours): the handoff's Slack thread (posted by the handoff action with the
  caller's language, the verified order and the transcript) gets a note that the call is on
  its way to the agents' line.
- Callback (out of hours, nobody answered, or no agents' line): a case on channel `phone`
  whose subject holds the number to call and the language ("Phone callback: +46..., Swedish
  (sv)"), linked to the verified order; the handoff case (if any) is closed pointing at it. The
  handoff's Slack thread (or a new post in the handoff channel) gets the callback card with
  buttons to log the call's outcome (handoff/callbacks.py; the Slack app records it).
- Not the rating: a keypad rating is the dialogue's (voice/channel.py), and its action stores it
  in the CRM's CSAT, once.
- Record: every call is one interaction on channel `phone` with its outcome and transcript.

Phone numbers go to the CRM and to the agents' Slack thread, never to a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from handoff.callbacks import callback_blocks
from handoff.relay import HandoffSettings, TranscriptLine, language_label
from nordvik.text import redact_emails
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

CALL_CHANNEL = "phone"
MAX_RECORD_CHARS = 5000


class CallRecords:
    """The phone channel's effects on the CRM and Slack (voice.calls.CallEffects)."""

    def __init__(self, handoff: HandoffSettings) -> None:
        self.handoff = handoff

    def _post(self, text: str, *, thread: tuple[str, str] | None,
              blocks: list[dict[str, Any]] | None = None) -> tuple[str, str] | None:
        if self.handoff.missing():
            logger.warning("phone note not posted to Slack: %s", self.handoff.missing())
            return None
        channel, ts = thread or (self.handoff.channel, "")
        try:
            posted = self.handoff.slack_client().chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False,
                thread_ts=ts or None)
            return str(posted.get("channel") or channel), str(posted["ts"])
        except (SlackApiError, SlackClientError, OSError, KeyError):
            logger.exception("phone note not posted to Slack")
            return None

    def _thread_of(self, case_id: int | None) -> tuple[str, str] | None:
        case = get_store().get_case(case_id) if case_id else None
        if case is None or not case.slack_thread_ts:
            return None
        return (case.slack_channel or self.handoff.channel, case.slack_thread_ts)

    def transferring(self, conversation_id: str, case_id: int | None) -> None:
        try:
            thread = self._thread_of(case_id)
        except StoreError:
            logger.exception("handoff case of a phone call unavailable")
            return
        if thread is not None:
            self._post("The caller is being transferred to the agents' phone line now.",
                       thread=thread)

    def callback(self, conversation_id: str, case_id: int | None, phone: str | None,
                 language: str, order_number: str | None) -> int | None:
        crm = get_store()
        try:
            thread = self._thread_of(case_id)
            subject = f"Phone callback: {phone or 'withheld number'}, {language_label(language)}"
            case = crm.open_case(subject=subject, channel=CALL_CHANNEL,
                                 order_number=order_number, conversation_id=conversation_id,
                                 status="open")
            if case_id is not None:
                crm.close_case(case_id, f"phone call ended: callback as case #{case.id}")
        except StoreError:
            logger.exception("callback case of a phone call not opened")
            return None
        blocks = callback_blocks(case.id, phone, language, order_number)
        posted = self._post(f"Callback requested (case #{case.id})", thread=thread,
                            blocks=blocks)
        if posted is not None and thread is None:
            try:
                crm.attach_slack_thread(case.id, *posted)
            except StoreError:
                logger.exception("callback case %s not linked to its Slack post", case.id)
        logger.info("callback case %s opened for a phone call (language %s)", case.id, language)
        return int(case.id)

    def record_call(self, conversation_id: str, *, language: str, outcome: str,
                    transcript: Sequence[TranscriptLine], order_number: str | None) -> None:
        """The call as one interaction on channel `phone`: outcome first, then the transcript."""
        lines = [f"Phone call in {language_label(language)}; outcome: {outcome}."]
        lines += [f"{line.speaker}: {line.text}" for line in transcript]
        text = redact_emails("\n".join(lines))[:MAX_RECORD_CHARS]
        try:
            get_store().record_interaction(conversation_id=conversation_id, channel=CALL_CHANNEL,
                                        direction="in", text=text, order_number=order_number)
        except StoreError:
            logger.exception("phone call not recorded")
