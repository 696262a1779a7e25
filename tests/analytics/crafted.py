"""Ten crafted conversations with known outcomes (tests/analytics/scripts.py builds the events).

Day 1 is Monday 2026-11-02 (UTC); c09 is on day 2, c10 in the next ISO week.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from tests.analytics.scripts import Script

DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc).timestamp()
DAY2 = DAY1 + 86_400
NEXT_WEEK = DAY1 + 8 * 86_400


def conversations() -> dict[str, Script]:
    c: dict[str, Script] = {}
    c["c01"] = (Script("c01", DAY1).session().greet()
                .faq("how long does shipping take?", "shipping_times").goodbye())
    c["c02"] = Script("c02", DAY1 + 600).session().greet().order_status().csat(5)
    c03 = Script("c03", DAY1 + 1200, channel="socketio").session().greet().handoff(connected=True)
    c03.agent_reply("Hi, Anna here", dt=90.0).agent_close(dt=510.0).typed_rating("4")
    c["c03"] = c03
    c["c04"] = Script("c04", DAY1 + 1800, channel="socketio").session().handoff(connected=False)
    c["c05"] = (Script("c05", DAY1 + 2400).session()
                .knowledge("hur lång tid tar en retur?", "returns-policy", language="sv")
                .kb_feedback(True, language="sv"))
    # not found twice, a person offered and accepted, an agent answers, a low rating typed
    c06 = (Script("c06", DAY1 + 3000).session()
           .knowledge("我的包裹什麼時候到", None, language="zh")
           .knowledge("包裹還沒到", None, language="zh", offer_person=True))
    c06.user("好", "affirm", language="zh").handoff(connected=True, case_id=8, typed=False)
    c06.agent_reply("您好", dt=30.0).agent_close(dt=300.0, case_id=8).typed_rating("2")
    c["c06"] = c06
    c["c07"] = Script("c07", DAY1 + 3600).session().user("hei", "greet", language="nb")
    c["c07"].action("utter_greet").bot("utter_greet", "Hi!").listen()
    # an answer, then the "talk to a person" button: the answer did not help
    c08 = (Script("c08", DAY1 + 4200).session()
           .knowledge("hvor lang tid tar frakten", "shipping-nordics", language="nb"))
    c08.user("/request_human", "request_human", language=None)
    c08.handoff(connected=True, case_id=9, typed=False)
    c["c08"] = c08
    c["c09"] = Script("c09", DAY2).session().order_status("A10003").csat(None)
    c["c10"] = (Script("c10", NEXT_WEEK).session()
                .knowledge("kan jag byta storlek?", "exchanges", language="sv"))
    return c


def all_events(scripts: dict[str, Script] | None = None) -> list[dict[str, Any]]:
    return [event for script in (scripts or conversations()).values() for event in script.events]


def event_time(script: Script, **match: Any) -> float:
    """The timestamp of the first event of `script` with these fields (e.g. name=...)."""
    for event in script.events:
        if all(_get(event, k) == v for k, v in match.items()):
            return float(event["timestamp"])
    raise AssertionError(f"no event {match} in {script.sender}")


def _get(event: dict[str, Any], key: str) -> Any:
    if key == "intent":
        return ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return event.get(key)


TWO_WEEKS_START = date(2026, 11, 2)
TWO_WEEKS_END = date(2026, 11, 15)
