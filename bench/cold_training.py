"""Cold training, two commits side by side: `python -m scripts.train --force` with an empty NLU
vector cache, the commits alternating in the same run.

    python -m bench.cold_training --old 00fa4f2 --new HEAD --rounds 1

Each commit is unpacked (`git archive`) under var/bench/cold_training/ and trained there with this
venv (PYTHONPATH points at the unpacked tree, so its own nlu/ and scripts/ run). Both train on
the same config.yml, domain/ and data/, those of `--data` (default: the new commit), so only
the code differs. Before each training its models/ and NLU cache are removed. Prints a table
with the seconds and the load average before and after each training, and writes
reports/cold_training.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "cold_training"
REPORT = ROOT / "reports" / "cold_training.md"


@dataclass(frozen=True)
class Run:
    label: str
    commit: str
    seconds: float
    load_before: str
    load_after: str
    ok: bool


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


TRAINING_INPUTS = ("config.yml", "domain", "data")


def _unpack(commit: str, tree: Path, paths: tuple[str, ...] = ()) -> None:
    """`git archive` of the commit (only `paths` of it, when given) into `tree`."""
    for path in paths or (str(tree),):
        target = tree / path if paths else tree
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    tree.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", commit, *paths], cwd=ROOT, check=True,
                             capture_output=True).stdout
    tar_path = WORK / f"{commit}.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(tree)  # noqa: S202 - our own repository's archive
    tar_path.unlink()


def _train(label: str, commit: str, tree: Path) -> Run:
    for leftover in (tree / "models", tree / "var", tree / ".rasa"):
        shutil.rmtree(leftover, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONUNBUFFERED="1",
               NLU_CACHE_DIR=str(tree / "var" / "cache" / "nlu"), NLU_FEATURE_CACHE="1")
    log = WORK / f"train-{label}-{datetime.now(timezone.utc):%H%M%S}.log"
    before = _load()
    started = time.monotonic()
    with open(log, "wb") as out:
        result = subprocess.run([sys.executable, "-m", "scripts.train", "--force"], cwd=tree,
                                env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    return Run(label, commit, seconds, before, _load(), result.returncode == 0)


def _commit(rev: str) -> str:
    return subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="00fa4f2", help="the commit before (default 00fa4f2)")
    parser.add_argument("--new", default="HEAD")
    parser.add_argument("--data", default=None,
                        help="the commit whose config.yml, domain/, data/ both train on")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    commits = {"old": _commit(args.old), "new": _commit(args.new)}
    data = _commit(args.data or args.new)
    trees = {label: WORK / commit for label, commit in commits.items()}
    for label, commit in commits.items():
        _unpack(commit, trees[label])
        _unpack(data, trees[label], TRAINING_INPUTS)
    runs: list[Run] = []
    for round_number in range(args.rounds):
        order = ("old", "new") if round_number % 2 == 0 else ("new", "old")
        for label in order:
            run = _train(label, commits[label], trees[label])
            runs.append(run)
            print(f"{label} {run.commit}: {run.seconds:.0f} s (load {run.load_before} -> "
                  f"{run.load_after}){'' if run.ok else ' FAILED'}", flush=True)
    rows = "\n".join(
        f"| {r.label} | `{r.commit}` | {r.seconds:.0f} | {r.load_before} | {r.load_after} | "
        f"{'yes' if r.ok else 'no'} |" for r in runs)
    report = (
        "# Cold training, before and after\n\n"
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `python -m "
        f"bench.cold_training --old {args.old} --new {args.new} --rounds {args.rounds}` on "
        f"{os.cpu_count()} cores: `python -m scripts.train --force` with an empty NLU vector "
        f"cache, the two commits alternating, both on config.yml, domain/ and data/ of `{data}`. "
        "The load average is the machine's, other jobs included.\n\n"
        "| | commit | seconds | load before (1, 5, 15 min) | load after | trained |\n"
        f"|---|---|---|---|---|---|\n{rows}\n"
    )
    REPORT.write_text(report, encoding="utf-8")
    print(report)
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
