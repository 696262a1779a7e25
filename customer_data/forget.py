"""Forget a customer everywhere their data is held (GDPR art. 17).

    forget_everywhere("anna@example.com") -> Forgotten (idempotent)

store.privacy erases the customer from the databases it is given: the store, Rasa's tracker
store and PRIVACY_EXTRA_DATABASES. This adds the places the store must not know about:

- the analytics tables (analytics.settings.privacy_database_urls), as one more database;
- the e-mail channel's spool (MAIL_SPOOL_DIR): every mail from, to or mentioning the address.

Like store.privacy it logs counts, never the address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analytics.settings import privacy_database_urls
from mail.settings import MailSettings
from mail.spool import Spool
from store.privacy import ForgetReport, PrivacyDatabases, forget_customer


@dataclass(frozen=True)
class Forgotten:
    """What forgetting one customer did: in the databases, and in the mail spool."""

    databases: ForgetReport
    mails: int


def privacy_databases(env: Mapping[str, str] | None = None,
                      store_url: str | None = None) -> PrivacyDatabases:
    """Every database that can hold a customer's data: the store's list and the analytics'."""
    return PrivacyDatabases.from_env(env, store_url=store_url,
                                     extra_urls=privacy_database_urls(env))


def forget_mails(email: str, env: Mapping[str, str] | None = None) -> int:
    """Delete the address's mails from the e-mail channel's spool; how many were deleted."""
    spool_dir = MailSettings.from_env(env).spool_dir
    return Spool(spool_dir).forget(email) if spool_dir.is_dir() else 0


def forget_everywhere(email: str, *, store_url: str | None = None,
                      env: Mapping[str, str] | None = None) -> Forgotten:
    """Erase the customer with this address from every database, then their mails. An address
    that is not one raises store.errors.InvalidInput before anything is touched."""
    report = forget_customer(privacy_databases(env, store_url), email)
    return Forgotten(databases=report, mails=forget_mails(email, env))
