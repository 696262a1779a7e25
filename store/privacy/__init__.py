"""A customer's data: export it, erase it, and age old conversations out (GDPR art. 15 and 17).

    export_customer(db, "anna@example.com")   -> dict (JSON-ready) or None when nothing is held
    forget_customer(db, "anna@example.com")   -> ForgetReport (idempotent)
    purge_older_than(db, timedelta(days=180)) -> PurgeReport

`PrivacyDatabases.from_env()` names the databases that can hold a customer's data:

- the store (DATABASE_URL): customers, orders, cases, returns, interactions, CSAT, failed
  verifications, and the knowledge feedback tables (kb_votes, kb_gaps) that share it;
- Rasa's tracker store (nordvik.trackers: the PostgreSQL DATABASE_URL, else TRACKER_DB), table
  `events`;
- copies of conversations elsewhere: PRIVACY_EXTRA_DATABASES (comma list of URLs), and the
  `extra_urls` its caller names. The store knows no package above it: forgetting a customer
  everywhere (the analytics tables, the e-mail channel's spool) is customer_data.forget's job.

A customer's conversations are those named by their store rows (interactions, cases, CSAT) and
those whose tracker events mention their address or full name (also inside sealed slot values).
`forget` removes those conversations everywhere (every table with a `sender_id` or
`conversation_id` column), deletes interactions and CSAT answers, anonymises the customer, their
cases, returns and orders (orders are kept for bookkeeping: number, status, amounts, items,
dates; the address is removed), and finally replaces any remaining occurrence of the address or
the full name in any text column of any of the databases. It logs counts and the customer's
internal id, never the address or the name.

One module per concern: `databases` (where the data can be, the reports), `person` (finding the
customer and their conversations), `export`, `forget`, `purge`. Their loggers are children of
``store.privacy``, so one level set on it covers them all.
"""

from __future__ import annotations

from store.privacy.databases import ForgetReport, PrivacyDatabases, PurgeReport
from store.privacy.export import export_customer
from store.privacy.forget import FORGOTTEN_NAME, REMOVED, conversation_ids_in, forget_customer
from store.privacy.person import EMAIL_PLACEHOLDER, NAME_PLACEHOLDER
from store.privacy.purge import parse_age, purge_older_than

__all__ = [
    "EMAIL_PLACEHOLDER",
    "FORGOTTEN_NAME",
    "NAME_PLACEHOLDER",
    "REMOVED",
    "ForgetReport",
    "PrivacyDatabases",
    "PurgeReport",
    "conversation_ids_in",
    "export_customer",
    "forget_customer",
    "parse_age",
    "purge_older_than",
]
