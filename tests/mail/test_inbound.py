"""What the receiver sends the channel, and how the channel checks it (no Rasa needed)."""

from __future__ import annotations

import pytest

from mail.inbound import COMPLAINT_SUBJECT
from mail.parsing import parse_mail
from mail.payload import InvalidPayload, MailPayload, nlu_text, payload_for
from mail.settings import MailSettings
from nordvik.secrets import unseal
from tests.mail.mails import mail, raw


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", "test-master-key-for-the-mail-tests-0123456789")


def parsed(text: str, subject: str = "Question", **kwargs: object) -> object:
    return parse_mail(raw(mail(text, subject=subject, **kwargs)), max_bytes=100_000,  # type: ignore[arg-type]
                      fallback_id="<f@x>")


def test_the_payload_round_trips_with_the_sender_sealed() -> None:
    settings = MailSettings(webhook_token="a-test-token-of-enough-length")
    inbound = parsed("Var är min beställning A10001?", subject="Order",
                     references="<a@x> <b@x>", in_reply_to="<b@x>",
                     attachments=[("kvitto.pdf", "application/pdf", b"%PDF" + b"0" * 100)])
    payload = payload_for("spool-1", inbound, settings)  # type: ignore[arg-type]
    checked = MailPayload.from_json(payload)
    assert checked.earlier_ids == ("<a@x>", "<b@x>")
    assert checked.language == "sv" and checked.text == "Var är min beställning A10001?"
    assert checked.attachments == ("kvitto.pdf (application/pdf, 104 B)",)
    assert unseal(checked.sender, purpose="email") == "anna.berg@example.com"
    assert "anna.berg" not in str(payload)


def test_an_order_number_only_in_the_subject_is_given_to_the_nlu() -> None:
    assert nlu_text(parsed("Where is it?", subject="Order A10005"), 2000) == \
        "Where is it? (A10005)"  # type: ignore[arg-type]
    assert nlu_text(parsed("", subject="Where is A10005?"), 2000) == "Where is A10005?"  # type: ignore[arg-type]
    assert len(nlu_text(parsed("word " * 1000), 300)) <= 300  # type: ignore[arg-type]


@pytest.mark.parametrize("body, field", [
    ([], "object"), ({"mail_id": ""}, "mail_id"),
    ({"mail_id": "x", "message_id": "<m@x>", "sender": 5}, "sender"),
    ({"mail_id": "x", "message_id": "<m@x>", "sender": "s", "client": "c",
      "earlier_ids": "<a@x>"}, "earlier_ids"),
])
def test_a_payload_that_is_not_a_mail_is_refused_naming_the_field(body: object,
                                                                  field: str) -> None:
    with pytest.raises(InvalidPayload, match=field):
        MailPayload.from_json(body)


@pytest.mark.parametrize("subject", ["Complaint about my order", "Reklamation", "Klage på vare",
                                     "Re: 投訴", "KLAGOMÅL"])
def test_complaint_subjects(subject: str) -> None:
    assert COMPLAINT_SUBJECT.search(subject)


@pytest.mark.parametrize("subject", ["Where is my order", "Complimentary gift", "Klagenfurt"])
def test_other_subjects(subject: str) -> None:
    assert not COMPLAINT_SUBJECT.search(subject)
