"""Rasa's Redis lock store, without a wait that never ends.

    lock_store:
      type: rasa_addons.lock_store.RedisLockStore   # scripts/rasa_env.py writes this
      url: 127.0.0.1
      port: 6379

Rasa 3.6 handles a conversation's messages one at a time, in the order of the tickets they draw
(rasa.core.lock_store). Every ticket expires after the lock lifetime (TICKET_LOCK_LIFETIME), and
a ticket whose holder died (a killed replica) is freed only by that expiry. A message waiting
behind such a ticket checks once per second; its own ticket, drawn moments later, can expire in
that second as well. Rasa then waits for its own, no longer existing, ticket to come up: forever,
and the customer's message never gets an answer (seen when a replica was SIGKILLed under load).

Here a waiter whose own ticket has expired goes ahead. All tickets have the same lifetime, so
every ticket drawn before it has expired too: the lock is free by Rasa's own rule.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError
from rasa.core.lock_store import RedisLockStore as RasaRedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


class RedisLockStore(RasaRedisLockStore):
    """RedisLockStore whose waiting messages go ahead once their own ticket has expired."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # as Rasa creates a lock store named by module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs,
                      **kwargs}
        super().__init__(**kwargs)

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                raise LockError(f"Could not acquire lock for conversation_id "
                                f"'{conversation_id}': the lock no longer exists.")
            if not lock.is_locked(ticket):  # drops expired tickets as it looks
                return lock
            if all(held.number != ticket for held in lock.tickets):
                logger.warning("A message's turn in its conversation expired while it waited; "
                               "it goes ahead (the tickets before it expired too)")
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
