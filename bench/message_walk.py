"""Which of the project's files one "where is my order" conversation runs through.

`python -m bench.message_walk` seeds a store of its own, loads this tree's model into an
in-process Rasa agent (SQLite tracker store) with every custom action run in the same process
(`runtime.rasa_speedups.install_local_actions` given all of them, so the action server's side is
seen too), holds one warm-up conversation, then records every Python function call of a second
one: "where is my order?", the order number, the e-mail. It prints and writes
reports/message_walk.md: each project file whose code ran during that conversation (start-up
and imports excluded), by package, with the number of calls.

It counts Python files only; the YAML the model was trained from (config, domain, rules) is
inside the model by then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from bench import systems

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "message_walk.md"
MESSAGES = ("where is my order?", "{number}", "{email}")
SKIPPED = ("bench", "tests")


class CallRecorder:
    """Counts calls per project file while `recording` is set (a profile hook in every thread)."""

    def __init__(self, root: Path) -> None:
        self.prefix = str(root) + os.sep
        self.venv = str(root / ".venv") + os.sep
        self.calls: Counter[str] = Counter()
        self.recording = False

    def hook(self, frame: FrameType, event: str, _arg: Any) -> None:
        if not self.recording or event != "call":
            return
        name = frame.f_code.co_filename
        if name.startswith(self.prefix) and not name.startswith(self.venv):
            relative = name[len(self.prefix):]
            if relative.split(os.sep, 1)[0] not in SKIPPED:
                self.calls[relative] += 1

    def install(self) -> None:
        threading.setprofile(self.hook)
        sys.setprofile(self.hook)


def _all_actions() -> dict[str, type]:
    """Every custom action of the project, by name (what the action server registers)."""
    from rasa_sdk.executor import ActionExecutor  # noqa: PLC0415 - heavy: rasa_sdk; child only

    executor = ActionExecutor()
    executor.register_package("actions")
    # the executor keeps each action's bound `run`; its instance is the action itself
    return {name: type(run.__self__) for name, run in executor.actions.items()}


async def _walk(model: str, tracker_db: str, number: str, email: str) -> dict[str, int]:
    from rasa.core.agent import load_agent  # noqa: PLC0415 - heavy: rasa, TF; child only
    from rasa.core.lock_store import InMemoryLockStore  # noqa: PLC0415 - rasa; child only
    from rasa.core.tracker_store import SQLTrackerStore  # noqa: PLC0415 - rasa; child only
    from rasa.core.utils import AvailableEndpoints  # noqa: PLC0415 - rasa; child only
    from rasa.utils.endpoints import EndpointConfig  # noqa: PLC0415 - rasa; child only

    from runtime.rasa_speedups import install, install_local_actions  # noqa: PLC0415 - rasa

    recorder = CallRecorder(ROOT)
    recorder.install()
    install()
    install_local_actions(_all_actions())
    # Rasa wants an action endpoint; every action runs here, so nothing is ever sent to it.
    unused = EndpointConfig(url="http://127.0.0.1:9/webhook")
    agent = await load_agent(model, endpoints=AvailableEndpoints(action=unused))
    agent.tracker_store = SQLTrackerStore(agent.domain, dialect="sqlite", db=tracker_db)
    agent.lock_store = InMemoryLockStore()

    async def conversation(sender: str) -> list[str]:
        replies: list[str] = []
        for message in MESSAGES:
            answer = await agent.handle_text(message.format(number=number, email=email),
                                             sender_id=sender)
            replies += [str(reply.get("text", "")) for reply in answer or []]
        return replies

    await conversation("warm-up")
    recorder.recording = True
    replies = await conversation("walked")
    recorder.recording = False
    sys.setprofile(None)
    if not any(number in reply for reply in replies):
        raise RuntimeError(f"the conversation did not reach the order's status: {replies}")
    return dict(recorder.calls)


def render(calls: dict[str, int], model: str) -> str:
    by_package: dict[str, list[tuple[str, int]]] = {}
    for path, count in sorted(calls.items()):
        by_package.setdefault(path.split(os.sep, 1)[0], []).append((path, count))
    lines = [
        "# The walk of one \"where is my order\" conversation",
        "",
        f"Command: `python -m bench.message_walk`. Model {Path(model).name}; commit "
        f"{systems.head_commit()}. Three customer messages (the question, the order number, the "
        "e-mail) after a warm-up conversation; every custom action ran in the same process.",
        "",
        f"**{len(calls)} project Python files** ran code during the conversation, in "
        f"{len(by_package)} packages.",
        "",
        "| package | file | calls |",
        "|---|---|---|",
    ]
    for package, files in by_package.items():
        lines += [f"| {package} | `{path}` | {count} |" for path, count in files]
    return "\n".join(lines) + "\n"


def child(args: argparse.Namespace) -> int:
    calls = asyncio.run(_walk(args.model, args.tracker_db, args.number, args.email))
    print(json.dumps(calls))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path,
                        help="the model file (default: this tree's, trained if out of date)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tracker-db", help=argparse.SUPPRESS)
    parser.add_argument("--number", help=argparse.SUPPRESS)
    parser.add_argument("--email", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    system = systems.project(args.model)
    with tempfile.TemporaryDirectory(prefix="message-walk-") as folder:
        base = Path(folder)
        url = f"sqlite:///{base / 'store.db'}"
        samples = systems.seed_store(system, url, base / "seed.log")
        number, email = next((n, e) for n, e, status in samples if status == "shipped")
        env = {**os.environ, "DATABASE_URL": url, "NORDVIK_VAR_DIR": str(base / "var")}
        result = subprocess.run(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "bench.message_walk", "--child", "--model", str(system.model),
             "--tracker-db", str(base / "tracker.db"), "--number", number, "--email", email],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        return 1
    calls = json.loads(result.stdout.strip().splitlines()[-1])
    text = render(calls, str(system.model))
    REPORT.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
