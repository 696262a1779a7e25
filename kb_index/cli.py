"""`kb`: build, update, search, evaluate and roll back the knowledge index; serve it over HTTP."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from kb_index.articles import load_articles
from kb_index.auth import create_token
from kb_index.errors import KnowledgeError
from kb_index.evaluation import evaluate, fold_votes, in_split, load_qrels, markdown_table
from kb_index.feedback import FeedbackStore
from kb_index.fusion import FusionWeights, fit_fusion, leave_one_corpus_out, loco_table
from kb_index.openapi import openapi_document
from kb_index.settings import KbSettings
from kb_index.types import AUDIENCES, LANGUAGES
from kb_index.versions import VersionStore
from nordvik.env import set_default

logger = logging.getLogger(__name__)


def _quiet_environment() -> None:
    # OMP_WAIT_POLICY: idle OpenMP threads (e5 engine, FAISS) sleep instead of spinning; on two
    # busy cores spinning turned an 8-passage update embedding into 5-8 s (set before the
    # runtimes load: they read it once)
    for name, value in (
        ("OMP_WAIT_POLICY", "PASSIVE"),
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("TF_CPP_MIN_LOG_LEVEL", "3"),
    ):
        set_default(name, value)


def _leave_out_tensorflow() -> None:
    """spaCy's thinc imports TensorFlow whenever it is installed (Rasa installs it): 10-13 s of a
    core at every `kb` start, for a library no kb command uses. A `None` entry in sys.modules
    makes that import fail as if TensorFlow were absent (thinc and transformers then leave it
    out). Only for the `kb` program itself: `main(argv)` called from another process (the tests)
    must not take TensorFlow away from it."""
    sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("build", "full build of a new version"), ("update", "re-embed changes")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--strict", action="store_true", help="fail on any bad article")
        p.add_argument("--source", type=Path, help="article folder (default KB_SOURCE)")
    p = sub.add_parser("watch", help="update the index whenever articles change (model loaded)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between folder scans")
    p.add_argument("--strict", action="store_true", help="fail on any bad article")
    p.add_argument("--source", type=Path, help="article folder (default KB_SOURCE)")
    p = sub.add_parser("search", help="search the live version")
    p.add_argument("query")
    p.add_argument("--lang", choices=LANGUAGES)
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--audience", default="public,internal", help="comma list")
    p.add_argument("--tags", default="", help="comma list (any of)")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    p = sub.add_parser("eval", help="recall/MRR/nDCG of dense, BM25 and hybrid on a qrels file")
    p.add_argument("qrels", type=Path, nargs="+", help="one or more JSON-lines files")
    p.add_argument("--votes", action="store_true", help="fold agents' helpful votes in")
    p.add_argument("--split", choices=("fit", "report", "all"), default="all",
                   help="which labelled queries to score (default all)")
    p.add_argument("--report", type=Path, help="also write the table to this file")
    p = sub.add_parser(
        "tune-fusion", help="learn the dense/BM25 mix per language from labelled queries"
    )
    p.add_argument("qrels", type=Path, nargs="+", help="one or more JSON-lines files")
    p.add_argument("--apply", action="store_true", help="publish a version with the new weights")
    p.add_argument("--split", choices=("fit", "report", "all"), default="fit",
                   help="which labelled queries to fit on (default fit)")
    p.add_argument("--report", type=Path, help="also write the table to this file")
    sub.add_parser("versions", help="list versions (* = live)")
    p = sub.add_parser("rollback", help="make an earlier version live (default: the previous)")
    p.add_argument("version", nargs="?")
    p = sub.add_parser("stale", help="articles past their review date")
    p.add_argument("--source", type=Path)
    sub.add_parser("gaps", help="questions the index could not answer")
    sub.add_parser("votes", help="agents' votes on suggested articles")
    p = sub.add_parser("serve", help="HTTP search service with hot reload")
    p.add_argument("--host", default=None, help="address to bind (default KB_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: KB_URL's, 8900)")
    sub.add_parser("token", help="generate var/secrets/kb_token: kb serve then requires it")
    sub.add_parser("openapi", help="print the OpenAPI description of kb serve")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The `kb` program (``argv`` None: the command line) or one command run in this process."""
    _quiet_environment()
    if argv is None:
        _leave_out_tensorflow()
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = KbSettings.from_env()
        return int(_run(args, settings) or 0)
    except KnowledgeError as exc:
        print(f"kb {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"kb {args.command}: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, settings: KbSettings) -> int:
    if getattr(args, "source", None):
        settings = dataclasses.replace(settings, source=args.source.resolve())
    command = args.command
    if command in ("build", "update"):
        return _build(settings, args.strict, command == "update")
    if command == "watch":
        from kb_index.watch import watch  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help

        logging.getLogger("kb_index").setLevel(logging.INFO)
        print(f"watching {settings.source} every {args.interval:g} s (Ctrl-C stops)")
        watch(settings, interval=args.interval, strict=args.strict)
        return 0
    if command == "search":
        return _search(args, settings)
    if command == "eval":
        return _eval(args, settings)
    if command == "tune-fusion":
        return _tune_fusion(args, settings)
    if command == "versions":
        infos = VersionStore(settings.kb_dir).infos()
        if not infos:
            print(f"no versions in {settings.kb_dir}")
        for info in infos:
            mark = "*" if info.live else " "
            print(
                f"{mark} {info.name}  {info.created_at}  {info.articles} articles  "
                f"{info.passages} passages  model={Path(info.model).name}"
            )
        return 0
    if command == "rollback":
        from kb_index.builder import rollback  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help

        print(f"live version is now {rollback(settings, args.version)}")
        return 0
    if command == "stale":
        return _stale(settings)
    if command == "gaps":
        gaps = FeedbackStore().gaps()
        print("| count | language | last seen | sources | question |\n|---|---|---|---|---|")
        for g in gaps:
            print(f"| {g.count} | {g.language} | {g.last_seen:%Y-%m-%d %H:%M} | "
                  f"{','.join(g.sources)} | {g.query} |")
        return 0
    if command == "votes":
        print("| article | helpful | not helpful | last vote |\n|---|---|---|---|")
        for v in FeedbackStore().votes():
            print(f"| {v.article_id} | {v.helpful} | {v.not_helpful} | "
                  f"{v.last_seen:%Y-%m-%d %H:%M} |")
        return 0
    if command == "serve":
        from kb_index.service import serve  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help

        default = urlparse(settings.url)
        serve(settings, args.host or settings.host, args.port or default.port or 8900)
        return 0
    if command == "token":
        path = create_token()
        print(f"token in {path} (mode 0600): kb serve requires it, clients here send it; "
              f"KB_TOKEN overrides it")
        return 0
    if command == "openapi":
        print(json.dumps(openapi_document(settings), indent=1))
        return 0
    raise KnowledgeError(f"unknown command {command}")


def _build(settings: KbSettings, strict: bool, incremental: bool) -> int:
    from kb_index.builder import build  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help

    result = build(settings, strict=strict, incremental=incremental, progress=True)
    for problem in result.problems:
        print(f"skipped: {problem.message}", file=sys.stderr)
    if result.unchanged:
        print(f"no changes; live version stays {result.version}")
        return 0
    print(
        f"version {result.version} is live: {result.articles} articles, {result.passages} "
        f"passages ({result.embedded} embedded, {result.reused} reused, {result.removed} "
        f"articles removed) in {result.seconds:.1f} s"
    )
    return 0


def _search(args: argparse.Namespace, settings: KbSettings) -> int:
    from kb_index.search import LiveIndex  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help

    audience = tuple(a for a in args.audience.split(",") if a) or AUDIENCES
    tags = tuple(t for t in args.tags.split(",") if t)
    hits = LiveIndex(settings).current.search(
        args.query, k=args.k, lang=args.lang, audience=audience, tags=tags, mode=args.mode
    )
    if not hits:
        print("no results")
    for rank, hit in enumerate(hits, start=1):
        flags = " [stale]" if hit.stale else ""
        flags += "" if hit.score >= settings.min_score else " [below KB_MIN_SCORE]"
        print(f"{rank}. {hit.score:.3f} {hit.article_id} ({hit.language}, {hit.audience})"
              f" {hit.title}{flags}")
        print(f"   {' > '.join(hit.heading_path)}: {hit.passage[:200]}")
        print(f"   {hit.url}")
    return 0


def _eval(args: argparse.Namespace, settings: KbSettings) -> int:
    from kb_index.search import LiveIndex  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help

    queries = in_split([q for path in args.qrels for q in load_qrels(path)], args.split)
    if not queries:
        raise KnowledgeError(f"no queries in split {args.split!r}")
    if args.votes:
        queries = fold_votes(queries, FeedbackStore().helpful_pairs())
    version = LiveIndex(settings).current
    results = {}
    for label, mode in (("dense", "dense"), ("bm25", "lexical"), ("hybrid", "hybrid")):
        results[label] = evaluate(
            lambda q, mode=mode: [  # type: ignore[misc]
                h.article_id
                for h in version.search(q.query, k=10, audience=AUDIENCES, mode=mode)
            ],
            queries,
            progress=True,
            desc=label,
        )
    table = markdown_table(results)
    print(f"{len(queries)} queries, version {version.name}\n\n{table}")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(table + "\n", encoding="utf-8")
    return 0


def _tune_fusion(args: argparse.Namespace, settings: KbSettings) -> int:
    from kb_index.builder import apply_fusion  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help
    from kb_index.search import LiveIndex  # noqa: PLC0415 - heavy (faiss); after _quiet_environment, not for --help

    queries = in_split([q for path in args.qrels for q in load_qrels(path)], args.split)
    if not queries:
        raise KnowledgeError(f"no queries in split {args.split!r}")
    version = LiveIndex(settings).current

    def rank(q: object, weights: FusionWeights | str) -> list[str]:
        mode = weights if isinstance(weights, str) else "hybrid"
        fusion = weights if isinstance(weights, FusionWeights) else None
        searcher = version if fusion is None else version.with_fusion(fusion)
        return [
            h.article_id
            for h in searcher.search(q.query, k=10, audience=AUDIENCES, mode=mode)  # type: ignore[attr-defined]
        ]

    corpora: dict[str, list] = {}
    for q in queries:
        corpora.setdefault(q.lang or "unknown", []).append(q)
    weights, table, parts = fit_fusion(rank, corpora, version.fusion)
    point = (weights.dense_weight, weights.rank_constant)

    def evaluate(name: str, held: FusionWeights) -> tuple[float, float, float, int]:
        d, b = parts[name]
        return d, b, table[(held.dense_weight, held.rank_constant)][name], len(corpora[name])

    loco = leave_one_corpus_out(table, parts, evaluate, weights.other_language)
    lines = [
        f"{len(queries)} queries (split {args.split}), version {version.name}; fitted on all: "
        f"dense weight {point[0]:g}, rank constant {point[1]:g} "
        f"(live: {version.fusion.dense_weight:g}, {version.fusion.rank_constant:g})",
        "",
        "| corpus | queries | dense | BM25 | fused (fitted on all) |",
        "|---|---|---|---|---|",
        *(f"| {name} | {len(corpora[name])} | {parts[name][0]:.3f} | {parts[name][1]:.3f} | "
          f"{table[point][name]:.3f} |" for name in corpora),
        "",
        "Each language left out in turn, fitted on the others:",
        "",
        loco_table(loco),
    ]
    text = "\n".join(lines)
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n", encoding="utf-8")
    if args.apply:
        name = apply_fusion(settings, weights, version.embedder)
        print(f"version {name} is live with fusion {weights.to_manifest()}")
    return 0


def _stale(settings: KbSettings) -> int:
    today = datetime.now(timezone.utc).date()
    articles, problems = load_articles(settings.source)
    stale = sorted((a for a in articles if a.is_stale(today)), key=lambda a: a.review_by)
    if not stale:
        print("no stale articles")
    for a in stale:
        print(f"{a.id}  review_by {a.review_by}  ({(today - a.review_by).days} days over)  "
              f"owner {a.owner}  {a.path}")
    for problem in problems:
        print(f"skipped: {problem.message}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
