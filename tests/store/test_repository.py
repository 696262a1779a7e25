"""OrderStore behaviour on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from nordvik.orders import normalize_order_number
from store.carriers import tracking_url
from store.errors import InvalidInput, InvalidTransition, NotFound
from store.repository import OrderStore
from tests.store.factories import ANNA, LIN, TODAY


def test_verify_order_returns_the_whole_order_for_the_right_pair(store: OrderStore) -> None:
    order = store.verify_order("A10004", "  Anna.Svensson@EXAMPLE.com ")
    assert order is not None
    assert order.number == "A10004"
    assert order.status == "in_transit"
    assert store.verify_order("A10004", ANNA) == order  # the e-mail's spacing and case are cleaned
    assert order.customer_name == "Anna Svensson"
    assert order.total == Decimal("548.00") and order.currency == "SEK"
    assert [(ln.sku, ln.qty) for ln in order.lines] == [("NV-LAMP-01", 1), ("NV-BULB-02", 1)]
    assert order.shipment is not None
    assert order.shipment.carrier == "PostNord"
    assert order.shipment.tracking_number == "PN000000004SE"
    assert order.shipment.tracking_url == "https://tracking.postnord.example/?id=PN000000004SE"
    assert [e.status for e in order.shipment.events] == ["shipped", "in_transit"]
    assert order.eta == TODAY + timedelta(days=1)
    assert (order.delay_reason, order.cancel_reason) == (None, None)


WRONG_PAIRS = [
    ("A10004", LIN),  # a real order, another customer's e-mail
    ("A10004", "anna.svensson@example.co"),  # one letter short
    ("A99999", ANNA),  # no such order, a real e-mail
    ("A99999", "nobody@example.com"),
]


def test_a_wrong_pair_and_an_unknown_order_look_the_same(store: OrderStore) -> None:
    for number, email in WRONG_PAIRS:
        assert store.verify_order(number, email) is None
        cancel = store.cancel_order(number, email)
        assert (cancel.outcome, cancel.order_status) == ("not_verified", None)
        ret = store.start_return(number, email, reason="broken", conversation_id="c1")
        assert (ret.outcome, ret.return_id, ret.case_id, ret.days_left) == (
            "not_verified",
            None,
            None,
            None,
        )
    # Nothing was changed behind the refusals.
    order = store.get_order("A10004")
    assert order is not None and order.status == "in_transit" and order.returns == ()


def test_wrong_email_and_unknown_order_give_equal_results(store: OrderStore) -> None:
    wrong = (
        store.verify_order("A10003", LIN),
        store.cancel_order("A10003", LIN),
        store.start_return("A10001", LIN, reason="x", conversation_id=None),
    )
    unknown = (
        store.verify_order("A77777", LIN),
        store.cancel_order("A77777", LIN),
        store.start_return("A77777", LIN, reason="x", conversation_id=None),
    )
    assert wrong == unknown
    assert store.get_order("A10003").status == "paid"  # type: ignore[union-attr]


JUNK_ORDER_NUMBERS: list[object] = [
    "A10004' OR '1'='1",
    "A10004; DROP TABLE orders; --",
    "' UNION SELECT email FROM customers --",
    "<script>alert('A10004')</script>",
    "<b>A10004</b>",
    "A" * 10_000,
    "A1" + "0" * 9_998,
    "📦A10004",
    "A10004🙂",
    "🙂🙂🙂",
    "\u202eA10004",  # right-to-left override
    "הזמנה A10004",
    "طلب ١٠٠٠٤",
    "A١٠٠٠٤",  # Arabic-Indic digits look like digits to \d
    "A10004\x00",
    "\x00",
    "A 10004",
    "A1000",
    "A100044",
    "",
    "   ",
    None,
    10004,
    ["A10004"],
]


def test_junk_order_numbers_take_the_not_found_path(store: OrderStore) -> None:
    before = store.order_counts_by_status()
    for junk in JUNK_ORDER_NUMBERS:
        assert normalize_order_number(junk) is None, junk
        assert store.verify_order(junk, ANNA) is None, junk  # type: ignore[arg-type]
        assert store.get_order(junk) is None, junk  # type: ignore[arg-type]
        assert store.customer_card(junk) is None, junk  # type: ignore[arg-type]
        assert store.customer_id_for_order(junk) is None, junk  # type: ignore[arg-type]
        cancel = store.cancel_order(junk, ANNA)  # type: ignore[arg-type]
        assert cancel == store.cancel_order("A99999", ANNA), junk
        ret = store.start_return(junk, ANNA, reason="x", conversation_id="c")  # type: ignore[arg-type]
        assert ret == store.start_return("A99999", ANNA, reason="x", conversation_id="c"), junk
    assert store.order_counts_by_status() == before


NON_CANONICAL_SPELLINGS = [" a10004 ", "a10004", "A10004\n", "Ａ１０００４"]


def test_order_numbers_are_taken_in_canonical_form_only(store: OrderStore) -> None:
    # The order number is normalised once where it enters (nordvik.orders); the store does not
    # clean it again, and any other spelling takes the not-found path.
    order = store.get_order("A10004")
    assert order is not None
    for spelling in NON_CANONICAL_SPELLINGS:
        assert normalize_order_number(spelling) == "A10004", spelling
        assert store.verify_order(spelling, ANNA) is None, spelling
        assert store.get_order(spelling) is None, spelling
        assert store.customer_card(spelling) is None, spelling
        assert store.customer_id_for_order(spelling) is None, spelling
        assert store.cancel_order(spelling, ANNA).outcome == "not_verified", spelling
        ret = store.start_return(spelling, ANNA, reason="x", conversation_id="c")
        assert ret.outcome == "not_verified", spelling
        case = store.open_case(subject="x", channel="chat", order_number=spelling)
        assert (case.order_number, case.customer_id) == (None, None), spelling
        assert store.verify_order(normalize_order_number(spelling) or "", ANNA) == order


@pytest.mark.parametrize("junk", JUNK_ORDER_NUMBERS, ids=lambda j: repr(j)[:30])
def test_junk_order_numbers_never_reach_the_database(junk: object) -> None:
    # A store on a closed port raises StoreUnavailable on any query: these must not query.
    down = OrderStore.from_url("postgresql+psycopg2://postgres@127.0.0.1:1/nordvik")
    assert down.verify_order(junk, ANNA) is None  # type: ignore[arg-type]
    assert down.get_order(junk) is None  # type: ignore[arg-type]
    assert down.cancel_order(junk, ANNA).outcome == "not_verified"  # type: ignore[arg-type]


JUNK_EMAILS: list[object] = [
    "",
    "   ",
    None,
    "anna.svensson@example.com\x00",
    "a" * 5000 + "@example.com",
    "' OR 1=1 --",
    "<script>anna.svensson@example.com</script>",
    "anna.svensson@example.com 🙂",
]


def test_junk_emails_do_not_verify(store: OrderStore) -> None:
    for email in JUNK_EMAILS:
        assert store.verify_order("A10004", email) is None, email  # type: ignore[arg-type]
        cancel = store.cancel_order("A10003", email)  # type: ignore[arg-type]
        assert cancel.outcome == "not_verified", email
    assert store.get_order("A10003").status == "paid"  # type: ignore[union-attr]


def test_status_facts_for_delays_cancellations_returns_and_refunds(store: OrderStore) -> None:
    """Facts the catalogue words for the customer: codes, dates and amounts, no sentences."""
    delayed = store.verify_order("A10005", ANNA)
    assert delayed is not None and delayed.status == "delayed"
    assert delayed.delay_reason == "weather"  # "Delayed: severe weather at the Jönköping hub"
    assert delayed.eta == date(2026, 11, 23)  # the new ETA
    cancelled = store.verify_order("A10006", ANNA)
    assert cancelled is not None and cancelled.cancel_reason == "payment"
    assert cancelled.cancelled_at is not None
    assert cancelled.cancelled_at.date() == date(2026, 11, 1)
    returned = store.verify_order("A10007", ANNA)
    assert returned is not None and returned.returns[-1].refund_amount == Decimal("499.00")
    assert returned.returns[-1].received_at is not None
    assert returned.returns[-1].received_at.date() == date(2026, 11, 5)
    refunded = store.verify_order("A10008", ANNA)
    assert refunded is not None and refunded.returns[-1].refund_amount == Decimal("548.00")
    delivered = store.verify_order("A10001", ANNA)
    assert delivered is not None
    assert delivered.return_deadline == TODAY + timedelta(days=20) == date(2026, 12, 10)
    assert delivered.return_days_left == 20
    closed = store.verify_order("A10002", ANNA)
    assert closed is not None and closed.return_days_left == 0
    for number in ("A10009", "A10003", "A10010", "A10011"):
        order = store.verify_order(number, ANNA)
        assert order is not None and (order.delay_reason, order.cancel_reason) == (None, None)


def test_cancel_is_idempotent(store: OrderStore) -> None:
    first = store.cancel_order("A10003", ANNA)
    assert (first.outcome, first.order_status) == ("cancelled", "cancelled")
    after_first = store.get_order("A10003")
    assert after_first is not None and after_first.status == "cancelled"
    assert after_first.cancelled_at is not None
    second = store.cancel_order("A10003", ANNA.upper())
    assert (second.outcome, second.order_status) == ("already_cancelled", "cancelled")
    after_second = store.get_order("A10003")
    assert after_second is not None
    assert after_second.cancelled_at == after_first.cancelled_at
    assert after_second.updated_at == after_first.updated_at


@pytest.mark.parametrize("number", ["A10009", "A10010"])
def test_pending_and_packed_orders_can_be_cancelled(store: OrderStore, number: str) -> None:
    assert store.cancel_order(number, ANNA).outcome == "cancelled"


NOT_CANCELLABLE = [
    ("A10011", "shipped"),
    ("A10004", "in_transit"),
    ("A10005", "delayed"),
    ("A10001", "delivered"),
    ("A10007", "returned"),
    ("A10008", "refunded"),
]


def test_shipped_orders_are_not_cancellable(store: OrderStore) -> None:
    for number, status in NOT_CANCELLABLE:
        result = store.cancel_order(number, ANNA)
        assert (result.outcome, result.order_status) == ("not_cancellable", status)
        order = store.get_order(number)
        assert order is not None and order.status == status and order.cancelled_at is None


def test_start_return_creates_a_return_and_a_case_once(store: OrderStore) -> None:
    first = store.start_return("A10001", ANNA, reason="too small", conversation_id="conv-7")
    assert first.outcome == "created"
    assert first.return_id is not None and first.case_id is not None
    assert first.days_left == 20
    case = store.get_case(first.case_id)
    assert case is not None
    assert (case.status, case.order_number, case.conversation_id) == ("open", "A10001", "conv-7")
    order = store.get_order("A10001")
    assert order is not None
    assert [(r.id, r.status, r.reason, r.case_id) for r in order.returns] == [
        (first.return_id, "requested", "too small", first.case_id)
    ]
    second = store.start_return("A10001", ANNA, reason="again", conversation_id="conv-8")
    assert (second.outcome, second.return_id, second.case_id) == (
        "already_open",
        first.return_id,
        first.case_id,
    )
    again = store.get_order("A10001")
    assert again is not None and len(again.returns) == 1


def test_return_window(store: OrderStore) -> None:
    # Delivered 29 days ago: the last but one day.
    edge = store.start_return("A20001", LIN, reason="broken", conversation_id=None)
    assert (edge.outcome, edge.days_left) == ("created", 1)
    assert store.start_return("A10002", ANNA, reason="x", conversation_id=None).outcome == (
        "window_closed"
    )
    # The clock is injectable: 21 days later, A10001 (delivered 10 days ago) is outside too.
    late = store.start_return(
        "A10001", ANNA, reason="x", conversation_id=None, today=TODAY + timedelta(days=21)
    )
    assert (late.outcome, late.return_id) == ("window_closed", None)
    last_day = store.start_return(
        "A10001", ANNA, reason="x", conversation_id=None, today=TODAY + timedelta(days=20)
    )
    assert (last_day.outcome, last_day.days_left) == ("created", 0)


def test_only_delivered_orders_can_be_returned(store: OrderStore) -> None:
    for number in ("A10009", "A10003", "A10010", "A10011", "A10004", "A10005", "A10006"):
        result = store.start_return(number, ANNA, reason="x", conversation_id=None)
        assert (result.outcome, result.return_id, result.case_id) == ("not_delivered", None, None)
        order = store.get_order(number)
        assert order is not None and order.returns == ()


def test_a_returned_order_reports_its_open_return(store: OrderStore) -> None:
    result = store.start_return("A10007", ANNA, reason="x", conversation_id=None)
    assert result.outcome == "already_open" and result.return_id is not None


def test_case_lifecycle(store: OrderStore) -> None:
    case = store.open_case(
        subject="Customer asks for a human",
        channel="chat",
        order_number="A10004",
        conversation_id="conv-1",
        status="handoff",
    )
    customer_id = store.customer_id_for_order("A10004")
    assert customer_id is not None
    assert (case.status, case.order_number, case.customer_id) == ("handoff", "A10004", customer_id)
    assert store.find_open_handoff("conv-1") == case
    assert store.find_open_handoff("conv-2") is None
    store.attach_slack_thread(case.id, "C012AB3CD", "1700000000.000100")
    store.attach_slack_thread(case.id, "C012AB3CD", "1700000000.000100")  # same thread: no-op
    by_thread = store.find_case_by_thread("C012AB3CD", "1700000000.000100")
    assert by_thread is not None and by_thread.id == case.id
    assert store.find_case_by_thread("C012AB3CD", "1700000000.999999") is None
    with pytest.raises(InvalidTransition):
        store.attach_slack_thread(case.id, "C012AB3CD", "1700000000.000200")
    closed = store.close_case(case.id, "Told the customer the parcel arrives tomorrow")
    assert closed.status == "closed" and closed.closed_at is not None
    again = store.close_case(case.id, "another resolution")
    assert again.resolution == "Told the customer the parcel arrives tomorrow"
    assert again.closed_at == closed.closed_at
    assert store.find_open_handoff("conv-1") is None
    with pytest.raises(InvalidTransition):
        store.attach_slack_thread(case.id, "C999", "1.2")


def test_case_errors(store: OrderStore) -> None:
    with pytest.raises(NotFound):
        store.close_case(999_999, "x")
    with pytest.raises(NotFound):
        store.attach_slack_thread(999_999, "C1", "1.0")
    assert store.get_case(999_999) is None
    with pytest.raises(InvalidInput):
        store.open_case(subject="x", channel="chat", status="archived")
    with pytest.raises(NotFound):
        store.open_case(subject="x", channel="chat", customer_id=999_999)
    junk = store.open_case(subject="x\x00y", channel="slack", order_number="<b>A1</b>")
    assert junk.order_number is None and junk.customer_id is None and junk.subject == "xy"


def test_interactions_and_csat_land_on_the_customer_card(store: OrderStore) -> None:
    store.record_interaction(
        conversation_id="conv-9",
        channel="web",
        direction="in",
        text="where is A10004?",
        order_number="A10004",
    )
    time.sleep(0.01)
    store.record_interaction(
        conversation_id="conv-9",
        channel="web",
        direction="out",
        text="On its way\x00!",
        order_number="A10004",
    )
    store.record_interaction(  # junk order number: kept as text, not linked
        conversation_id="conv-9", channel="web", direction="in", text="x", order_number="💥"
    )
    store.record_csat(conversation_id="conv-9", rating=5, customer_id=None, case_id=None)
    customer_id = store.customer_id_for_order("A10004")
    store.record_csat(conversation_id="conv-9", rating=4, comment="quick", customer_id=customer_id)
    card = store.customer_card("A10004", interactions=5)
    assert card is not None
    assert (card.name, card.email, card.country, card.language) == (
        "Anna Svensson",
        ANNA,
        "SE",
        "sv",
    )
    assert card.order.number == "A10004"
    assert [(t.direction, t.text) for t in card.recent_interactions] == [
        ("out", "On its way!"),
        ("in", "where is A10004?"),
    ]
    assert card.csat_average == 4.0
    assert card.order_count == 11
    # Lifetime value leaves out the cancelled and the refunded order.
    assert card.lifetime_value == Decimal("548.00") * 9
    assert len(card.recent_orders) == 5
    assert card.recent_orders[0].number == "A10009"


def test_csat_rating_must_be_1_to_5(store: OrderStore) -> None:
    for rating in (0, 6, -1, True, "5", 4.5, None):
        with pytest.raises(InvalidInput):
            store.record_csat(conversation_id="c", rating=rating)  # type: ignore[arg-type]
    card = store.customer_card("A10004")
    assert card is not None and card.csat_average is None


def test_interaction_direction_is_checked(store: OrderStore) -> None:
    with pytest.raises(InvalidInput):
        store.record_interaction(conversation_id="c", channel="web", direction="up", text="x")
    with pytest.raises(NotFound):
        store.record_interaction(
            conversation_id="c", channel="web", direction="in", text="x", customer_id=999_999
        )


def test_counts_and_samples(store: OrderStore) -> None:
    counts = store.order_counts_by_status()
    assert counts["delivered"] == 3 and counts["paid"] == 1 and sum(counts.values()) == 12
    samples = store.sample_orders()
    assert ("delayed", "A10005", ANNA) in samples
    assert len(samples) == 10
    store.ping()


def test_no_email_addresses_in_logs(store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store.verify_order("A10004", ANNA)
    store.verify_order("A10004", LIN)
    store.cancel_order("A10003", ANNA)
    store.start_return("A10001", ANNA, reason="too small", conversation_id="conv-log")
    case = store.open_case(subject="help", channel="chat", order_number="A10004")
    store.close_case(case.id, "done")
    assert caplog.records, "the writes above log what they did"
    for record in caplog.records:
        message = record.getMessage()
        assert "@" not in message and "Svensson" not in message, message


def test_tracking_urls_per_carrier() -> None:
    assert tracking_url("PostNord", "PN1SE") == "https://tracking.postnord.example/?id=PN1SE"
    assert tracking_url("Budbee", "BUD1") == "https://track.budbee.example/BUD1"
    assert tracking_url("Bring", "70123") == "https://tracking.bring.example/tracking/70123"
    assert tracking_url("DHL", "123") == "https://www.dhl.example/track?tracking-id=123"
    assert tracking_url("UPS", "1Z9") == "https://www.ups.example/track?tracknum=1Z9"
    assert tracking_url("Pigeon", "a b&c") == (
        "https://nordvik.example/track?carrier=Pigeon&id=a%20b%26c"
    )


def test_a_verified_customer_id_proves_ownership_instead_of_the_email(store: OrderStore) -> None:
    anna = store.customer_id_for_order("A10003")
    lin = store.customer_id_for_order("A20001")
    assert anna is not None and lin is not None and anna != lin
    assert store.cancel_order("A10003", customer_id=lin).outcome == "not_verified"
    assert store.cancel_order("A10003").outcome == "not_verified"  # no proof at all
    assert store.cancel_order("A10003", ANNA, customer_id=anna).outcome == "not_verified"  # both
    assert store.get_order("A10003").status == "paid"  # type: ignore[union-attr]
    assert store.cancel_order("A10003", customer_id=anna).outcome == "cancelled"
    refused = store.start_return("A10001", customer_id=lin, reason="x", conversation_id="c1")
    assert refused.outcome == "not_verified"
    created = store.start_return("A10001", customer_id=anna, reason="wrong size",
                                 conversation_id="c1", channel="email")
    assert created.outcome == "created" and created.case_id is not None
    case = store.get_case(created.case_id)
    assert case is not None and case.channel == "email"


def test_one_open_case_per_conversation_is_found_and_handed_off(store: OrderStore) -> None:
    assert store.find_open_case("conv-9") is None
    opened = store.start_return("A10001", ANNA, reason="broken", conversation_id="conv-9")
    assert opened.case_id is not None
    found = store.find_open_case("conv-9")
    assert found is not None and found.id == opened.case_id and found.status == "open"
    handed = store.hand_off_case(opened.case_id, "the customer asked for a person")
    assert handed.status == "handoff"
    assert handed.subject == "Return of order A10001; handed off: the customer asked for a person"
    again = store.hand_off_case(opened.case_id, "another reason")
    assert again.subject == handed.subject  # already handed off: unchanged
    assert store.find_open_handoff("conv-9") == again
    store.close_case(opened.case_id, "resolved")
    assert store.find_open_case("conv-9") is None
    with pytest.raises(InvalidTransition):
        store.hand_off_case(opened.case_id, "too late")
    with pytest.raises(NotFound):
        store.hand_off_case(987654, "no such case")


def test_a_comment_is_added_to_the_conversations_latest_rating(store: OrderStore) -> None:
    assert store.add_csat_comment(conversation_id="conv-c", comment="fast!") is False
    store.record_csat(conversation_id="conv-c", rating=3)
    store.record_csat(conversation_id="conv-c", rating=5)
    assert store.add_csat_comment(conversation_id="conv-c", comment="fast\x00 and kind") is True
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT rating, comment FROM csat_feedback WHERE conversation_id = 'conv-c' "
            "ORDER BY id").fetchall()
    assert [tuple(row) for row in rows] == [(3, None), (5, "fast and kind")]
    with pytest.raises(InvalidInput):
        store.add_csat_comment(conversation_id="conv-c", comment="   ")
