"""`make profile-turn`: where the time of one customer turn goes, before and after.

For each system (bench/systems.py: "today" = the tree before the runtime work, "project" = this
tree) a child process started in that tree loads its model into an in-process Rasa agent with
a SQLite tracker store and its real action server on a loopback port (store seeded by its own
`store seed`), warms up with one conversation, then runs 3 conversations (7 turns each: greeting,
FAQ, order question, order number, e-mail, FAQ, goodbye) under pyinstrument. The action server
of this tree and of an earlier commit (at:<commit>) is `python -m rasa_addons.action_server`
with a fresh shared secret, as `make run` starts it; "today"'s is `rasa run actions`. The profile
of the Rasa side (NLU, policies, tracker store, action calls) is written to
reports/turn_profile_<system>.txt with the mean time per turn; the action server's own time is
inside the "action call" frames as waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
MESSAGES = ("hi", "how long does shipping take?", "where is my order?", "{number}", "{email}",
            "what is your return policy", "bye")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


async def _profile(model: str, action_url: str, tracker_db: str, order: tuple[str, str],
                   out: Path, label: str, rounds: int, speedups: bool = False,
                   local_actions: bool = False) -> None:
    from pyinstrument import Profiler  # noqa: PLC0415 - only the --child process profiles
    from rasa.core.agent import load_agent  # noqa: PLC0415 - heavy: rasa, TF; --child only
    from rasa.core.lock_store import InMemoryLockStore  # noqa: PLC0415 - rasa; --child only
    from rasa.core.tracker_store import SQLTrackerStore  # noqa: PLC0415 - rasa; --child only
    from rasa.core.utils import AvailableEndpoints  # noqa: PLC0415 - rasa; --child only
    from rasa.utils.endpoints import EndpointConfig  # noqa: PLC0415 - rasa; --child only
    from rasa.utils.log_utils import configure_structlog  # noqa: PLC0415 - rasa; --child only

    logging.basicConfig(level=logging.WARNING)
    configure_structlog(logging.WARNING)  # `rasa run` logs at INFO; debug output would dominate
    if speedups:  # what the project's Rasa launcher installs (rasa_addons.rasa_server)
        # the tree under test's own (first on PYTHONPATH); "today" has no runtime package
        from runtime.rasa_speedups import (  # noqa: PLC0415 - project tree only; see above
            install,
            install_local_actions,
        )

        install()
        if local_actions:
            install_local_actions()
    token = os.environ.get("ACTION_SERVER_TOKEN")  # child(): the launcher's shared secret
    headers = {"Authorization": f"Bearer {token}"} if token else None
    endpoints = AvailableEndpoints(action=EndpointConfig(url=action_url, headers=headers))
    agent = await load_agent(model, endpoints=endpoints)
    agent.tracker_store = SQLTrackerStore(agent.domain, dialect="sqlite", db=tracker_db)
    agent.lock_store = InMemoryLockStore()
    number, email = order

    async def conversation(sender: str) -> int:
        for message in MESSAGES:
            await agent.handle_text(message.format(number=number, email=email),
                                    sender_id=sender)
        return len(MESSAGES)

    await conversation("warm-up")
    profiler = Profiler(async_mode="enabled", interval=0.0005)
    turns = 0
    started = time.perf_counter()
    profiler.start()
    for n in range(rounds):
        turns += await conversation(f"profiled-{n}")
    profiler.stop()
    seconds = time.perf_counter() - started
    header = (f"# Turn profile: {label}\n# model {Path(model).name}; {turns} turns in "
              f"{seconds:.2f} s: {1000 * seconds / turns:.1f} ms per turn (in-process agent, "
              "SQLite tracker store, real action server)\n\n")
    flat = profiler.output_text(unicode=True, color=False, flat=True, show_all=True)
    top = "\n".join(flat.splitlines()[:60])
    out.write_text(header + "## Where the time goes (inclusive, per component)\n\n"
                   + component_table(profiler, turns) + "\n\n## Own time per function "
                   "(flat profile, top 60 lines)\n\n```\n" + top + "\n```\n",
                   encoding="utf-8")
    print(json.dumps({"label": label, "turns": turns, "ms_per_turn": 1000 * seconds / turns}))


# Components of a turn, by the function that does the work (class.method substrings).
COMPONENTS = (
    ("NLU: sentence embeddings", ("SentenceEmbeddingFeaturizer.process", "E5Featurizer.process",
                                  "Featurizer.process_training", "EmbeddingFeaturizer.process")),
    ("NLU: ResponseSelector (TF)", ("ResponseSelector.process",)),
    ("NLU: other components", ("Tokenizer.process", "CountVectorsFeaturizer.process",
                               "LexicalSyntacticFeaturizer.process", "RegexFeaturizer.process",
                               "IntentClassifier.process", "EntityExtractor.process",
                               "FallbackClassifier.process", "Gate.process",
                               "EntitySynonymMapper.process")),
    ("policies: TED (TF)", ("TEDPolicy.predict_action_probabilities",)),
    ("policies: rules and memoization", ("RulePolicy.predict_action_probabilities",
                                         "MemoizationPolicy.predict_action_probabilities")),
    ("action server calls (HTTP + the actions)", ("RemoteAction.run",)),
    ("tracker store: load", ("SQLTrackerStore.retrieve", "TrackerStore.retrieve",
                             "SQLTrackerStore.retrieve_full_tracker")),
    ("tracker store: save", ("SQLTrackerStore.save", "TrackerStore.save")),
)


def component_table(profiler: Any, turns: int) -> str:
    """Inclusive time per component (a frame counted once even when nested in itself)."""
    root = profiler.last_session.root_frame()
    total = root.time if root is not None else 0.0
    sums = {name: 0.0 for name, _ in COMPONENTS}

    def walk(frame: Any, active: frozenset[str]) -> None:
        function = f"{frame.class_name + '.' if frame.class_name else ''}{frame.function}"
        hit = next((name for name, keys in COMPONENTS
                    if any(function.endswith(k) or k in function for k in keys)), None)
        if hit is not None and hit not in active:
            sums[hit] += frame.time
            active = active | {hit}
        for child in frame.children:
            walk(child, active)

    if root is not None:
        walk(root, frozenset())
    lines = ["| component | seconds | ms per turn | share of the profile |", "|---|---|---|---|"]
    for name, seconds in sums.items():
        lines.append(f"| {name} | {seconds:.2f} | {1000 * seconds / max(turns, 1):.1f} | "
                     f"{100 * seconds / total if total else 0:.0f} % |")
    rest = total - sum(sums.values())
    share = 100 * rest / total if total else 0
    lines.append(f"| everything else (graph runner, events, logging, ...) | {rest:.2f} | "
                 f"{1000 * rest / max(turns, 1):.1f} | {share:.0f} % |")
    return "\n".join(lines)


def child(args: argparse.Namespace) -> int:
    root = Path(args.root)
    work = Path(tempfile.mkdtemp(prefix="turn-profile-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'store.db'}",
           "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "store.cli", "seed"], cwd=root, env=env,  # noqa: S603
                   check=True, stdout=subprocess.DEVNULL)
    script = ("import json, store; print(json.dumps(store.get_store().sample_orders()))")
    rows = json.loads(subprocess.run([sys.executable, "-c", script], cwd=root, env=env,  # noqa: S603
                                     capture_output=True, text=True, check=True).stdout)
    _status, number, email = next(r for r in rows if r[0] == "in_transit")
    port = _free_port()
    if args.threaded_actions:  # the project's action server, behind its shared secret
        env["ACTION_SERVER_TOKEN"] = secrets.token_urlsafe(32)
        argv = [sys.executable, "-m", "rasa_addons.action_server", "--port", str(port)]
    else:
        argv = [str(Path(sys.executable).parent / "rasa"), "run", "actions", "--port", str(port)]
    actions = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                               stderr=subprocess.DEVNULL)
    try:
        _wait(f"http://127.0.0.1:{port}/health")
        os.environ.update(env)
        asyncio.run(_profile(args.model, f"http://127.0.0.1:{port}/webhook",
                             str(work / "tracker.db"), (number, email), Path(args.out),
                             args.label, args.rounds, speedups=args.threaded_actions,
                             local_actions=args.local_actions_child))
    finally:
        actions.terminate()
        actions.wait(timeout=30)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="profile one customer turn, before and after")
    parser.add_argument("--systems", default="today,project")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--project-model", type=Path, help="this tree's model file")
    parser.add_argument("--local-actions", choices=("on", "off", "both"), default="on",
                        help="this tree with action_track_context run in the Rasa server (on, "
                             "as the launcher does), over HTTP (off), or both in one run; "
                             "off writes turn_profile_project_remote.txt")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--threaded-actions", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--local-actions-child", dest="local_actions_child", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    # not at the top: the --child process runs with the tree under test first on PYTHONPATH,
    # and the "today" tree's bench/ has no systems.py
    from bench import systems  # noqa: PLC0415 - parent process only; see above

    runs: list[tuple[str, bool]] = []
    for key in [k.strip() for k in args.systems.split(",") if k.strip()]:
        if key != "project":
            runs.append((key, key.startswith("at:")))
        else:
            runs += [(key, local) for local in
                     {"on": (True,), "off": (False,), "both": (False, True)}[args.local_actions]]
    results: list[tuple[str, float]] = []
    for key, local in runs:
        results.append(_profile_system(systems, args, key, local))
    if len(results) > 1:
        _write_comparison(results, args.systems)
    return 0


def _prepare(systems: Any, args: argparse.Namespace, key: str) -> Any:
    if key == "project":
        return systems.project(args.project_model)
    if key.startswith("at:"):  # an earlier commit of this tree, run the way make run runs it
        return systems.today(key[len("at:"):])
    return systems.today()


def _profile_system(systems: Any, args: argparse.Namespace, key: str,
                    local: bool) -> tuple[str, float]:
    """Profile one system in a child process; (its title, ms per turn)."""
    prepared = _prepare(systems, args, key)
    launcher = key == "project" or key.startswith("at:")
    name = key.replace(":", "_")
    suffix = "_remote" if key == "project" and not local else ""
    out = REPORTS / f"turn_profile_{name}{suffix}.txt"
    how = (", action_track_context in the Rasa server" if local
           else ", every action over HTTP" if launcher else "")
    print(f"profile-turn: {prepared.title}{how} ({prepared.model.name})", flush=True)
    argv_child = [sys.executable, str(Path(__file__).resolve()), "--child",
                  "--root", str(prepared.root), "--model", str(prepared.model),
                  "--out", str(out),
                  "--label", f"{prepared.title}{how}, commit {prepared.commit}",
                  "--rounds", str(args.rounds)]
    if launcher:
        argv_child.append("--threaded-actions")
        if local:
            argv_child.append("--local-actions-child")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(prepared.root), str(ROOT)]),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(argv_child, cwd=prepared.root, env=env, check=True,  # noqa: S603
                          stdout=subprocess.PIPE, text=True)
    print(done.stdout, end="", flush=True)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"profile-turn: wrote {out.relative_to(ROOT)}", flush=True)
    return f"{prepared.title}{how}, commit {prepared.commit}", float(measured["ms_per_turn"])


def _write_comparison(results: list[tuple[str, float]], systems_arg: str) -> None:
    """reports/turn_profile_compare.md: ms per turn of every system profiled in this run, in the
    order they ran (alternate the systems to spread the machine's noise over both)."""
    lines = ["# Turn profile: ms per turn, systems profiled in one run", "",
             f"Command: `python -m bench.turn_profile --systems {systems_arg}` (in-process agent, "
             "SQLite tracker store, real action server; see the module's docstring). Load "
             f"average at the end: {os.getloadavg()[0]:.1f}.", "",
             "| # | system | ms per turn |", "|---|---|---|"]
    lines += [f"| {i} | {title} | {ms:.1f} |" for i, (title, ms) in enumerate(results, 1)]
    by_title: dict[str, list[float]] = {}
    for title, ms in results:
        by_title.setdefault(title, []).append(ms)
    lines += ["", "| system | runs | mean ms per turn | min |", "|---|---|---|---|"]
    lines += [f"| {title} | {len(values)} | {sum(values) / len(values):.1f} | {min(values):.1f} |"
              for title, values in by_title.items()]
    text = "\n".join(lines) + "\n"
    (REPORTS / "turn_profile_compare.md").write_text(text, encoding="utf-8")
    print(text, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
