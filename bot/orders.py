"""/order: who may look up an order, and the answer for any text an agent types."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.messages import notice
from bot.blocks.order_card import order_card_message
from bot.services import Services
from bot.settings import SlackSettings
from nordvik.orders import EXAMPLE_ORDER_NUMBER, find_order_number
from nordvik.text import clip, escape_mrkdwn
from store.errors import StoreError, StoreUnavailable

logger = logging.getLogger(__name__)

USAGE = "Give me an order number, e.g. `/order A10234`."
REFUSAL = ("Sorry, `/order` shows customer details, so it is only for support agents. "
           "If you are an agent, ask your team lead to add you to the agents' group.")
DB_UNAVAILABLE = (":warning: The order database is unavailable right now, so I cannot show the "
                  "order. Please try again in a minute; the error has been logged for the team.")


def _members(client: WebClient, channel: str) -> set[str]:
    members: set[str] = set()
    cursor = ""
    for _ in range(50):  # 50 pages of 1,000: far more than any agents' channel
        page = client.conversations_members(channel=channel, cursor=cursor or None, limit=1000)
        members.update(page.get("members") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            break
    return members


def is_agent(client: WebClient, settings: SlackSettings, user_id: str, channel_id: str) -> bool:
    """Members of SLACK_AGENT_USERGROUP or of SLACK_AGENT_CHANNELS (or asking in one of them)."""
    if not user_id:
        return False
    if channel_id and channel_id in settings.agent_channels:
        return True
    if settings.agent_usergroup:
        try:
            users = client.usergroups_users_list(usergroup=settings.agent_usergroup).get("users")
            if user_id in (users or []):
                return True
        except SlackApiError:
            logger.exception("could not list the agents' user group %s", settings.agent_usergroup)
    for channel in settings.agent_channels:
        try:
            if user_id in _members(client, channel):
                return True
        except SlackApiError:
            logger.exception("could not list the members of agents' channel %s", channel)
    return False


def order_reply(services: Services, text: object) -> dict[str, Any]:
    """The card for the order number in `text`, or a clear answer why there is none."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        return notice(USAGE)
    number = find_order_number(raw)
    if number is None:
        return notice(f"`{escape_mrkdwn(clip(raw, 40))}` is not an order number. Order numbers "
                      f"are an A and five digits, e.g. `{EXAMPLE_ORDER_NUMBER}`.")
    try:
        card = services.store().customer_card(number)
    except StoreUnavailable:
        logger.exception("order store unavailable for /order")
        return notice(DB_UNAVAILABLE)
    except StoreError:
        logger.exception("order store error for /order")
        return notice(DB_UNAVAILABLE)
    if card is None:
        return notice(f"I found no order `{number}`. Check the number with the customer.")
    return order_card_message(card)
