"""Errors raised by the order/CRM store. Messages name the database, never a password."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class StoreUnavailable(StoreError):
    """The database cannot be reached, is locked for too long, or has no schema yet."""


class NotFound(StoreError, LookupError):
    """A case (or another record addressed by id) does not exist."""


class InvalidTransition(StoreError):
    """A state change that the record's current state does not allow."""


class InvalidInput(StoreError, ValueError):
    """An argument outside its allowed values (a rating of 7, a direction of 'sideways')."""
