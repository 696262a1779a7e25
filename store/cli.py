"""``store`` / ``python -m store.cli``: migrate, seed and inspect the order/CRM store; export,
forget and purge customers' data (store.privacy). ``forget`` reaches past the store (analytics,
the mail spool): only the ``store`` console script (customer_data.cli) has it, as a `Command`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from nordvik.env import state_dir
from store.db import describe_url, make_engine
from store.errors import StoreError
from store.migrate import current_revision, head_revision, upgrade
from store.privacy import (
    PrivacyDatabases,
    export_customer,
    parse_age,
    purge_older_than,
)
from store.repository import OrderStore
from store.seed import (
    DEFAULT_CUSTOMERS,
    DEFAULT_ORDERS,
    DEFAULT_SEED,
    sample_orders,
    seed,
)
from store.settings import StoreSettings, resolve_database_url


@dataclass(frozen=True)
class Command:
    """A command that a layer above the store adds to this CLI: its name, one line of help, its
    arguments, and what it runs (the parsed arguments and the store's URL -> exit status)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, str], int]


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-23") from exc


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} must be at least 1")
    return number


def build_parser(commands: Sequence[Command] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="store", description=__doc__)
    parser.add_argument(
        "--database-url",
        help="database to use (default: $DATABASE_URL, else sqlite:///var/store.db)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the schema in place to the newest revision")
    seed_p = sub.add_parser("seed", help="migrate, then fill an empty store with demo data")
    seed_p.add_argument("--force", action="store_true", help="wipe the store's rows and reseed")
    seed_p.add_argument(
        "--today", type=_date, help="anchor day of the data (default: today, UTC), YYYY-MM-DD"
    )
    seed_p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    seed_p.add_argument("--customers", type=_positive, default=DEFAULT_CUSTOMERS)
    seed_p.add_argument("--orders", type=_positive, default=DEFAULT_ORDERS)
    sub.add_parser("stats", help="schema revision, row counts and orders per status")
    export_p = sub.add_parser(
        "export", help="write everything held about a customer to one JSON file (GDPR art. 15)"
    )
    export_p.add_argument("email", help="the customer's e-mail address")
    export_p.add_argument(
        "--out", type=Path, help="file to write (default var/exports/customer-<id>-<time>.json)"
    )
    for command in commands:
        command.add_arguments(sub.add_parser(command.name, help=command.help))
    purge_p = sub.add_parser(
        "purge", help="remove conversations and CRM history older than an age (retention)"
    )
    purge_p.add_argument("--older-than", required=True, metavar="AGE",
                         help="e.g. 180d, 26w or 12h")
    return parser


def _privacy(args: argparse.Namespace, url: str) -> int:
    logging.getLogger("store.privacy").setLevel(logging.INFO)  # what purge did, no address
    databases = PrivacyDatabases.from_env(store_url=url)
    if args.command == "export":
        data = export_customer(databases, args.email)
        if data is None:
            print("store export: no data is held about that address (nothing written)")
            return 0
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out: Path = args.out or (
            state_dir() / "exports"
            / f"customer-{data['customer']['id']}-{stamp}.json"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2, default=str)
        print(f"store export: {len(data['orders'])} orders, {len(data['support_cases'])} cases, "
              f"{len(data['interactions'])} interactions, {len(data['conversations'])} "
              f"conversations written to {out}")
        return 0
    age = parse_age(args.older_than)
    purged = purge_older_than(databases, age)
    rows = ", ".join(f"{t} {n}" for t, n in sorted(purged.rows_deleted.items())) or "no rows"
    print(f"store purge: {purged.conversations} conversations ({purged.tracker_events} events) "
          f"and {rows} older than {purged.cutoff:%Y-%m-%d %H:%M} UTC removed")
    return 0


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _run(args: argparse.Namespace, commands: Sequence[Command] = ()) -> int:
    settings = StoreSettings.from_env()
    url = resolve_database_url(args.database_url) if args.database_url else settings.database_url
    where = describe_url(url)
    for command in commands:
        if args.command == command.name:
            return command.run(args, url)
    if args.command in ("export", "purge"):
        return _privacy(args, url)
    if args.command == "migrate":
        before = current_revision(url)
        after = upgrade(url)
        if before == after:
            print(f"{where}: already at revision {after} (newest)")
        else:
            print(f"{where}: upgraded from revision {before or 'none'} to {after}")
        return 0
    engine = make_engine(url)
    try:
        if args.command == "seed":
            upgrade(engine)
            anchor = args.today or datetime.now(timezone.utc).date()
            report = seed(
                engine,
                anchor=anchor,
                seed=args.seed,
                customers=args.customers,
                orders=args.orders,
                force=args.force,
            )
            if report.seeded:
                print(
                    f"{where}: seeded {report.counts['customers']:,} customers and "
                    f"{report.counts['orders']:,} orders (anchor {anchor}) in "
                    f"{report.seconds:.1f} s"
                )
            else:
                print(
                    f"{where}: already has {report.counts['orders']:,} orders; left as it is "
                    "(use --force to wipe and reseed)"
                )
            samples = sample_orders(engine, anchor)
            print("\nTry the bot with one of these (order number + e-mail):\n")
            _print_table(
                ("status", "order", "e-mail"), [(s.label, s.number, s.email) for s in samples]
            )
            return 0
        # stats
        revision = current_revision(engine)
        print(f"{where}: revision {revision or 'none'} (newest {head_revision()})")
        if revision is None:
            print("not migrated yet: run `python -m store.cli migrate`")
            return 1
        store = OrderStore(engine)
        print()
        _print_table(("table", "rows"), sorted(store.table_counts().items()))
        print()
        _print_table(("order status", "orders"), list(store.order_counts_by_status().items()))
        return 0
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None, commands: Sequence[Command] = ()) -> int:
    """Run the CLI with this module's commands and ``commands`` (from a layer above)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser(commands).parse_args(argv)
    try:
        return _run(args, commands)
    except BrokenPipeError:
        # `store seed | head`: the reader left; no traceback (Python docs' recipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except StoreError as exc:
        print(f"store {args.command}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"store {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
