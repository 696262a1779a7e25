"""The /order card: status, items, shipment and tracking, returns, open cases, interactions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from nordvik.text import clip, escape_mrkdwn
from store.views import CustomerCard, OrderDetails


def _money(amount: Decimal | None, currency: str) -> str:
    return "-" if amount is None else f"{amount:,.2f} {currency}"


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d")


def _reason(order: OrderDetails) -> str:
    """Why the order is delayed or was cancelled (the store's reason code), for the agent."""
    if order.delay_reason:
        return f"\n*Delay reason:* `{order.delay_reason}`"
    if order.cancel_reason:
        return f"\n*Cancel reason:* `{order.cancel_reason}`"
    return ""


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}


def order_card_message(card: CustomerCard) -> dict[str, Any]:
    order = card.order
    cur = order.currency
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": clip(f"Order {order.number} · {order.status}", 150)}},
        _section(f"*Status:* `{order.status}`  ·  placed {_day(order.placed_at)}  ·  "
                 f"total {_money(order.total, cur)}{_reason(order)}"),
        {"type": "section", "fields": [
            {"type": "mrkdwn",
             "text": f"*Customer*\n{escape_mrkdwn(card.name)} (#{card.customer_id})"},
            {"type": "mrkdwn",
             "text": f"*Contact*\n{escape_mrkdwn(card.email)}"
                     f"{' · ' + escape_mrkdwn(card.phone) if card.phone else ''}"},
            {"type": "mrkdwn", "text": f"*Country / language*\n{card.country} / {card.language}"},
            {"type": "mrkdwn", "text": f"*History*\n{card.order_count} orders, "
                                       f"{_money(card.lifetime_value, cur)}"
                                       + (f", CSAT {card.csat_average:.1f}/5"
                                          if card.csat_average is not None else "")},
        ]},
    ]
    items = "\n".join(f"• {line.qty} × {escape_mrkdwn(line.name)} (`{line.sku}`) "
                      f"{_money(line.line_total, cur)}" for line in order.lines[:20])
    blocks.append(_section(f"*Items*\n{items or '_none_'}"))
    ship = order.shipment
    if ship is None:
        shipment = "_Not shipped yet._" + (f" ETA {_day(order.eta)}" if order.eta else "")
    else:
        last = ship.events[-1] if ship.events else None
        link = f"<{ship.tracking_url}|{escape_mrkdwn(ship.tracking_number)}>"
        shipment = (f"{escape_mrkdwn(ship.carrier)} {link}"
                    f" · `{ship.status}` · ETA {_day(ship.eta or order.eta)}")
        if last is not None:
            shipment += (f"\nLast event {_day(last.occurred_at)}: "
                         f"{escape_mrkdwn(last.description)}"
                         + (f" ({escape_mrkdwn(last.location)})" if last.location else ""))
    blocks.append(_section(f"*Shipment*\n{shipment}"))
    if order.return_deadline is not None:
        window = (f"Return window: until {_day(order.return_deadline)} "
                  f"({order.return_days_left} days left)")
    else:
        window = ""
    returns = "\n".join(
        f"• #{r.id} `{r.status}` {escape_mrkdwn(clip(r.reason, 100))}, opened {_day(r.created_at)}"
        + (f", refunded {_money(r.refund_amount, cur)}" if r.refund_amount is not None else "")
        for r in order.returns)
    blocks.append(_section("*Returns*\n" + "\n".join(x for x in (returns or "_none_", window)
                                                      if x)))
    cases = "\n".join(f"• #{c.id} {escape_mrkdwn(clip(c.subject, 120))} "
                      f"(`{c.status}`, {c.channel}, {_day(c.created_at)})"
                      for c in card.open_cases[:10])
    blocks.append(_section(f"*Open cases*\n{cases or '_none_'}"))
    talks = "\n".join(f"• {_day(i.created_at)} {i.channel} {'←' if i.direction == 'in' else '→'} "
                      f"{escape_mrkdwn(clip(i.text, 150))}" for i in card.recent_interactions)
    blocks.append(_section(f"*Last interactions*\n{talks or '_none_'}"))
    return {"text": f"Order {order.number}: {order.status}", "blocks": blocks}
