import json
from pathlib import Path

import pytest

from kb_index.cli import main
from kb_index.feedback import FeedbackStore
from kb_index.settings import KbSettings


@pytest.fixture()
def env(settings: KbSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KbSettings:
    monkeypatch.setenv("KB_SOURCE", str(settings.source))
    monkeypatch.setenv("KB_DIR", str(settings.kb_dir))
    monkeypatch.setenv("KB_MODEL", settings.model)
    monkeypatch.setenv("KB_PASSAGE_CHARS", str(settings.passage_chars))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fb.db'}")
    return settings


def test_cli_build_search_versions_rollback_stale(
    env: KbSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "returns"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("kb search: no live knowledge index") and "\n" not in err
    assert main(["build"]) == 0
    assert "is live: 7 articles" in capsys.readouterr().out
    assert main(["update"]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["search", "return label free", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. ") and "returns-policy" in out
    assert main(["build"]) == 0
    capsys.readouterr()
    assert main(["versions"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("*")
    assert main(["rollback"]) == 0
    assert main(["versions"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1].startswith("*")
    assert main(["rollback", "v-missing"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["stale"]) == 0
    assert capsys.readouterr().out.startswith("gift-cards  review_by 2025-01-01")


def test_cli_strict_build_fails_with_one_line(
    env: KbSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    (env.source / "en/bad.md").write_bytes(b"---\nid: bad\n---\n\xff\xfe")
    assert main(["build", "--strict"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("kb build: 1 bad article(s)")
    assert main(["build"]) == 0
    assert "skipped:" in capsys.readouterr().err


def test_cli_eval_with_votes_gaps(
    env: KbSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qrels = tmp_path / "q.jsonl"
    qrels.write_text(
        "\n".join(
            json.dumps(x)
            for x in [
                {"query": "return label free", "lang": "en", "relevant": ["returns-policy"]},
                {"query": "returnera varor", "lang": "sv", "relevant": ["retur-sv"]},
            ]
        ),
        encoding="utf-8",
    )
    assert main(["build"]) == 0
    report = tmp_path / "report.md"
    assert main(["eval", str(qrels), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "| hybrid | 1.000 |" in out and report.read_text().startswith("| retriever |")
    store = FeedbackStore()
    store.record_vote("U1", "agent goodwill", "refund-authority", "helpful", "slack")
    store.record_gap("do you sell bikes", "rasa", "en")
    assert main(["eval", str(qrels), "--votes"]) == 0
    assert "3 queries" in capsys.readouterr().out
    assert main(["votes"]) == 0
    assert "| refund-authority | 1 | 0 |" in capsys.readouterr().out
    assert main(["gaps"]) == 0
    assert "do you sell bikes" in capsys.readouterr().out
    qrels.write_text("{broken", encoding="utf-8")
    assert main(["eval", str(qrels)]) == 1
    assert "q.jsonl:1: not valid JSON" in capsys.readouterr().err


def test_cli_tune_fusion_applies_a_new_version(
    env: KbSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kb_index.search import LiveIndex
    from kb_index.versions import VersionStore

    qrels = tmp_path / "q.jsonl"
    qrels.write_text(
        "\n".join(
            json.dumps({"query": q, "lang": lang, "relevant": [aid]})
            for q, lang, aid in [
                ("return label free in Sweden", "en", "returns-policy"),
                ("delivery time Sweden PostNord", "en", "shipping-sweden"),
                ("returnera varor inom 30 dagar", "sv", "retur-sv"),
                ("退貨期限 三十天", "zh", "returns-zh"),
            ]
        ),
        encoding="utf-8",
    )
    assert main(["build"]) == 0
    store = VersionStore(env.kb_dir)
    before = store.live_name()
    capsys.readouterr()
    report = tmp_path / "fusion.md"
    assert main(["tune-fusion", str(qrels), "--apply", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "| en | 2 |" in out and "| zh | 1 |" in out and report.read_text() in out
    after = store.live_name()
    assert after != before and len(store.names()) == 2
    live = LiveIndex(env).current
    assert set(live.manifest["fusion"]) == {
        "dense_weight", "rank_constant", "other_language", "title_weight"}
    assert "Each language left out in turn" in out
    assert live.manifest["counts"]["passages"] == live.n_passages
    assert live.search("return label free in Sweden")[0].article_id == "returns-policy"
    # the tuned weights carry over to the next build of the same model
    assert main(["build"]) == 0
    assert LiveIndex(env).current.manifest["fusion"] == live.manifest["fusion"]


def test_the_kb_program_builds_without_loading_tensorflow(settings: KbSettings) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "KB_SOURCE": str(settings.source), "KB_DIR": str(settings.kb_dir),
           "KB_MODEL": settings.model, "KB_PASSAGE_CHARS": str(settings.passage_chars)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "kb_index.cli", "build"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "is live: 7 articles" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "spacy" in imported  # the passages were split with spaCy ...
    # ... alone: TensorFlow's own modules never load (its name is tried once, and refused)
    assert not {name for name in imported if name.startswith("tensorflow.")}


def test_kb_main_called_in_a_process_leaves_its_tensorflow_alone(
        env: KbSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert main(["build"]) == 0
    assert sys.modules.get("tensorflow", "absent") is not None  # not blocked for the caller
