"""`kb serve` under attack: without its token, with a wrong one, and Hypothesis-generated query
strings with the token. Never a 5xx; without the token nothing but 401 (and the health check).

The service runs for real (`python -m kb_index.cli serve`) on a small index built with the
deterministic hashing embedder, with one internal article that must only come back when asked
for with the token.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kb_index.conftest import ARTICLES, write_articles
from tests.security.conftest import AttackLog
from tests.support.rasa_stack import free_port

pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 200
# from the knowledge-index tests' articles: an internal-only sentence and a public one
INTERNAL_SECRET = "goodwill up to 1,000 SEK"
PUBLIC_TEXT = "business days"
assert INTERNAL_SECRET in ARTICLES["en/refund-authority.md"]
assert "audience: internal" in ARTICLES["en/refund-authority.md"]


@dataclasses.dataclass
class KbService:
    url: str
    token: str
    log: Path


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _healthy(url: str) -> bool:
    try:
        return _get(url + "/healthz")[0] == 200
    except (urllib.error.URLError, OSError):
        return False


def _env(kb_dir: Path, source: Path, token: str | None) -> dict[str, str]:
    env = {**os.environ, "KB_DIR": str(kb_dir), "KB_SOURCE": str(source),
           "KB_MODEL": "hashing-256", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("KB_TOKEN", None)
    env.pop("KB_HOST", None)
    if token is not None:
        env["KB_TOKEN"] = token
    return env


@pytest.fixture(scope="module")
def kb_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KbService]:
    from kb_index.builder import build
    from kb_index.settings import KbSettings

    root = tmp_path_factory.mktemp("kb-fuzz")
    write_articles(root / "articles")
    kb_settings = dataclasses.replace(KbSettings(), source=root / "articles",
                                      kb_dir=root / "kb", model="hashing-256",
                                      passage_chars=300)
    build(kb_settings)
    token = secrets.token_urlsafe(32)
    port = free_port()
    log = root / "kb_serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "kb_index.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port)], cwd=ROOT, env=_env(root / "kb", root / "articles", token),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"kb serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield KbService(url, token, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_kb_serve_refuses_to_listen_beyond_loopback_without_a_token(
    tmp_path: Path, attack_log: AttackLog
) -> None:
    attack = attack_log.attack("kb serve without its token")
    # a state folder of its own: no earlier test's generated kb_token can stand in for one
    env = {**_env(tmp_path / "kb", tmp_path, None), "NORDVIK_VAR_DIR": str(tmp_path / "state")}
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "kb_index.cli", "serve", "--host", "0.0.0.0",
         "--port", str(free_port())], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120)
    attack.tried(refused=result.returncode != 0)
    assert result.returncode != 0 and "token" in (result.stderr + result.stdout).lower()


def test_kb_serve_without_or_with_a_wrong_token(kb_service: KbService,
                                                attack_log: AttackLog) -> None:
    attack = attack_log.attack("kb serve without its token")
    base = kb_service.url
    paths = ["/search?q=refund", "/search?q=refund&audience=internal", "/metrics",
             "/openapi.json", "/search", "/", "/search?q=x&token=" + kb_service.token]
    variants: list[dict[str, str]] = [
        {}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {kb_service.token}"},
        {"Authorization": f"Bearer {kb_service.token[:-2]}"}, {"Authorization": "Bearer "},
        {"X-Token": kb_service.token},
    ]
    for path in paths:
        for headers in variants:
            status, text = _get(base + path, headers)
            disclosed = PUBLIC_TEXT in text or INTERNAL_SECRET in text
            attack.tried(refused=status == 401, disclosed=disclosed, status=status)
            assert status == 401 and not disclosed, (path, headers, status, text[:200])
    assert _get(base + "/healthz")[0] == 200
    assert attack.disclosures == 0 and attack.server_errors == 0
    attack.notes.append(
        f"{len(paths)} paths (search, internal audience, metrics, OpenAPI, token in the query) "
        f"x {len(variants)} ways without the right token: 401 each, no passage text; "
        "`kb serve --host 0.0.0.0` without a token refuses to start.")


def test_fuzzed_queries_with_the_token(kb_service: KbService, attack_log: AttackLog) -> None:
    attack = attack_log.attack("Junk fuzzed at kb serve (Hypothesis, with the token)")
    auth = {"Authorization": f"Bearer {kb_service.token}"}
    status, text = _get(kb_service.url + "/openapi.json", auth)
    assert status == 200
    described = json.loads(text)
    params = sorted({p["name"] for op in described["paths"].get("/search", {}).values()
                     if isinstance(op, dict) for p in op.get("parameters", [])})
    assert {"q", "k", "lang", "audience", "tags"} <= set(params), params
    statuses: dict[int, int] = {}
    problems: list[str] = []
    values = st.one_of(st.text(max_size=200), st.integers().map(str),
                       st.sampled_from(["", "0", "-1", "51", "1e3", "public,internal", "xx",
                                        "sv", "zh-TW", "%ff%fe", "%00", "a" * 5000,
                                        "' OR 1=1 --", "<script>", "../../etc/passwd"]))
    junk_query = st.dictionaries(st.sampled_from([*params, "x", "q[]", ""]), values, max_size=6)
    # Half the examples carry a real question, with odd values in the other parameters.
    with_question = st.fixed_dictionaries(
        {"q": st.text(min_size=1, max_size=300).filter(str.strip)},
        optional={name: values for name in params if name != "q"})
    query = st.one_of(with_question, junk_query)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(fields=query,
           raw_tail=st.sampled_from(["", "", "", "", "&q=%ff", "&k=%80", "&&&", "&q"]))
    def fuzz(fields: dict[str, str], raw_tail: str) -> None:
        qs = urllib.parse.urlencode(fields, quote_via=urllib.parse.quote)
        status, body = _get(f"{kb_service.url}/search?{qs}{raw_tail}", auth)
        statuses[status] = statuses.get(status, 0) + 1
        asked_internal = "internal" in fields.get("audience", "")
        disclosed = INTERNAL_SECRET in body and not asked_internal
        attack.tried(refused=status == 400, disclosed=disclosed, status=status)
        if status not in (200, 400):
            problems.append(f"{status} for {qs[:100]}{raw_tail}: {body[:200]}")
        else:
            decoded: Any = json.loads(body)
            assert ("hits" in decoded) if status == 200 else ("error" in decoded)

    fuzz()
    assert problems == []
    assert attack.disclosures == 0 and attack.server_errors == 0
    summary = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
    attack.notes.append(
        f"{EXAMPLES} Hypothesis query strings (derandomised) over the parameters its OpenAPI "
        f"description names ({', '.join(params)}) plus unknown ones, invalid UTF-8, NUL, 5,000 "
        f"characters, odd k and audience values: {summary}. Internal guidance came back only "
        "when the audience asked for it.")
