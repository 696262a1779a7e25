"""Global middleware: Slack retries of an event already handled are acknowledged and dropped."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse

from bot.services import get_services

logger = logging.getLogger(__name__)


def ignore_retried_events(body: dict, request: BoltRequest,
                          next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002
    event_id = body.get("event_id") if isinstance(body, dict) else None
    if (body.get("type") == "event_callback" and isinstance(event_id, str) and event_id
            and not get_services().dedupe().first_time(event_id)):
        retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
        logger.info("ignoring retry %s of event %s (already handled)", retry, event_id)
        return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
    return next()
