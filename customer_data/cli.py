"""``store`` (the console script) / ``python -m customer_data.cli``: store.cli's commands
(migrate, seed, stats, export, purge) and ``forget``, which reaches past the store into the
analytics tables and the e-mail channel's spool (customer_data.forget)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from customer_data.forget import forget_everywhere
from store import cli as store_cli


def _forget_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the customer's e-mail address")


def _forget(args: argparse.Namespace, url: str) -> int:
    logging.getLogger("store.privacy").setLevel(logging.INFO)  # what forget did, no address
    forgotten = forget_everywhere(args.email, store_url=url)
    report = forgotten.databases
    if forgotten.mails:
        print(f"store forget: {forgotten.mails} mails from or to that address deleted from the "
              "mail spool")
    if not report.found:
        print("store forget: no customer with that address (already forgotten, or never "
              "known); nothing changed")
        return 0
    print(f"store forget: customer {report.customer_id} anonymised; "
          f"{report.conversations} conversations erased")
    for label, counts in (("deleted", report.rows_deleted),
                          ("anonymised", report.rows_anonymised),
                          ("text redacted", report.text_redacted)):
        if counts:
            print(f"  {label}: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.items())))
    if report.slack_threads:
        print(f"  {report.slack_threads} Slack handoff threads may still show the "
              "conversation: delete them in Slack")
    return 0


FORGET = store_cli.Command(
    name="forget",
    help="erase a customer: conversations, history, personal fields, mails (GDPR art. 17)",
    add_arguments=_forget_arguments,
    run=_forget,
)


def main(argv: Sequence[str] | None = None) -> int:
    return store_cli.main(argv, commands=(FORGET,))


if __name__ == "__main__":
    sys.exit(main())
