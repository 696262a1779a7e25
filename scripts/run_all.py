"""`make run`: prepare whatever is missing, then run every service under supervisord until Ctrl-C.

Steps: load `.env`, migrate and seed the order/CRM store, train the Rasa model if its inputs
changed, build the knowledge index if no version is live, write Rasa's effective endpoints file,
then start every service described in scripts/services.py under supervisord (restarts with
back-off, a watchdog acting on failing health checks; see runtime/). RASA_REPLICAS and
ACTION_REPLICAS run several Rasa servers and action servers behind HAProxy.

To add a service, append it in scripts/services.py `describe()`; nothing here changes.
Ctrl-C (or SIGTERM) stops supervisord, which stops every service.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from dotenv import dotenv_values

from analytics.demo import demo_wanted, start_demo
from kb_index.auth import TOKEN_ENV, TOKEN_NAME, token_path
from kb_index.settings import KbSettings
from kb_index.versions import VersionStore
from mail.settings import MailSettings
from messaging.settings import channel_status
from nordvik.env import SettingsError, env_int, process_env
from nordvik.secrets import rasa_api_token, secret
from runtime import haproxy, supervisor
from runtime.settings import RuntimeSettings, available_cores
from scripts.rasa_env import write_endpoints
from scripts.services import describe, skipped
from voice.settings import VoiceSettings

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _say(message: str) -> None:
    print(f"run: {message}", flush=True)


def _step(title: str, argv: Sequence[str], env: dict[str, str]) -> None:
    _say(title)
    result = subprocess.run(list(argv), cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"run: '{title}' failed (exit {result.returncode}); nothing was started")


def _load_env() -> dict[str, str]:
    base = process_env()
    env = dict(base)
    dotenv = ROOT / ".env"
    if dotenv.exists():
        for key, value in dotenv_values(dotenv).items():
            if value is not None and key not in base:
                env[key] = value
        _say("loaded settings from .env")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    extra = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + extra if extra else "")
    return env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return bool(response.status < 500)
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def _understands(port: int, token: str) -> bool:
    """Whether the public Rasa port parses a customer's first message (the model is loaded and
    the NLU answers): what the README's first `curl` needs, besides the action server."""
    query = urllib.parse.urlencode({"token": token})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/model/parse?{query}", method="POST",
        data=json.dumps({"text": "where is my order?"}).encode("utf-8"),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            parsed = json.loads(response.read().decode("utf-8") or "{}")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return bool((parsed.get("intent") or {}).get("name"))


def _wait_until_answering(port: int, token: str, daemon: subprocess.Popen[bytes]) -> bool:
    """Wait until the bot understands a first message; False when supervisord has exited."""
    said = False
    while not _understands(port, token):
        if daemon.poll() is not None:
            return False
        if not said:
            _say("waiting for the bot to answer a first message")
            said = True
        time.sleep(1.0)
    return True


def _live_kb_version(env: dict[str, str]) -> str | None:
    return VersionStore(KbSettings.from_env(env).kb_dir).live_name()


def _print_usage(env: dict[str, str], run_dir: Path) -> None:
    rasa_port = env_int(env, "RASA_PORT", low=1, high=65535)
    web_port = env_int(env, "WEB_PORT", low=1, high=65535)
    kb_port = env_int(env, "KB_PORT", low=1, high=65535)
    rest = f"http://localhost:{rasa_port}/webhooks/rest/webhook"
    print(
        f"""
Nordvik support is running.
  Chat widget (demo store):  http://localhost:{web_port}/
  Rasa REST channel:         {rest}
  Knowledge search:          curl -H "Authorization: Bearer $(cat {token_path()})" \\
                               "http://localhost:{kb_port}/search?q=return+window"
                             (KB_TOKEN, if set, instead of the file)
  Analytics dashboard:       http://localhost:{env_int(env, 'DASHBOARD_PORT')}/
                             (first user `lead`, password in var/secrets/dashboard_lead_password)
  Service logs:              {run_dir / 'logs'}/<service>.log
  Service status:            {VENV_BIN / 'supervisorctl'} -c {run_dir / 'supervisord.conf'} status
  Rasa HTTP API (agents' tools only): add ?token=$RASA_TOKEN (else var/secrets/rasa_token)
Talk to the bot:
  curl -s {rest} -H 'Content-Type: application/json' \\
       -d '{{"sender": "me", "message": "where is my order?"}}'
  (sample order numbers with their e-mails are listed above, under the store step)
{_mail_usage(env)}
{_voice_usage(env)}
Press Ctrl-C to stop everything.
""",
        flush=True,
    )


def _mail_usage(env: dict[str, str]) -> str:
    """How to send the e-mail receiver a test mail (mail/send_test.py)."""
    try:
        settings = MailSettings.from_env(env)
    except SettingsError as error:
        return f"E-mail channel: not usable ({error})"
    return (
        f"E-mail: the SMTP receiver takes mail for {', '.join(settings.recipients)} on "
        f"{settings.host}:{settings.port}; replies go to {settings.smtp.describe()}\n"
        f"  {VENV_BIN / 'python'} -m mail.send_test --from <an e-mail from the store's table> "
        '"Where is my order <its order number>?"'
    )


def _voice_usage(env: dict[str, str]) -> str:
    """The phone channel's webhook URL for Twilio (voice/, docs/PHONE.md), or why it is off."""
    try:
        settings = VoiceSettings.from_env(env)
    except SettingsError as error:
        return f"Phone (Twilio Voice): not usable ({error})"
    if settings.missing():
        return f"Phone (Twilio Voice): off ({settings.missing()}; see docs/PHONE.md)"
    base = settings.public_url or f"http://localhost:{env_int(env, 'RASA_PORT')}/webhooks/phone"
    return (
        f"Phone (Twilio Voice): set each Twilio number's \"A call comes in\" webhook (HTTP POST) "
        f"to\n  {base}/call  and its call status callback to  {base}/status\n"
        f"  (a public https URL, e.g. a tunnel, in VOICE_PUBLIC_URL; docs/PHONE.md)\n"
        f"  try: {VENV_BIN / 'python'} -m voice.send_test --from <a customer's phone> "
        '"where is my order" "#<the order number\'s five digits>"'
    )


def share_secrets(env: dict[str, str], directory: Path | None = None) -> None:
    """Put the secrets several services share into their environment: each from the
    environment, else generated once into var/secrets (`directory`), where tools read it too.
    - RASA_TOKEN: Rasa's HTTP API; every replica and the Slack app's handoff relay.
    - MAIL_WEBHOOK_TOKEN: the e-mail receiver's secret for the channel's webhook.
    - KB_TOKEN: kb serve answers no request without it (but /healthz); the action servers, the
      Slack app and `kb` commands send it."""
    env.setdefault("RASA_TOKEN", rasa_api_token(env, directory))
    env.setdefault("MAIL_WEBHOOK_TOKEN", secret("mail_webhook_token", "MAIL_WEBHOOK_TOKEN",
                                                env=env, directory=directory))
    env.setdefault(TOKEN_ENV, secret(TOKEN_NAME, TOKEN_ENV, env=env, directory=directory))


def _say_messaging_channels(env: dict[str, str]) -> None:
    """Which messaging channels (messaging/, docs/MESSAGING.md) are on, and why the others are
    not (they run inside the Rasa server: nothing to supervise)."""
    for platform, off in channel_status(env):
        _say(f"{platform} channel on: /webhooks/{platform}/webhook (try: python -m "
             f"messaging.send_test --platform {platform})" if off is None
             else f"{platform} channel off: {off}")


def _supervise(env: dict[str, str]) -> int:
    """Write the configurations, run supervisord, wait until every service is healthy."""
    try:
        settings = RuntimeSettings.from_env(env)
    except SettingsError as error:
        raise SystemExit(f"run: {error}") from error
    run_dir = settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    share_secrets(env)
    endpoints = write_endpoints(env)
    services = describe(env, settings, endpoints, run_dir)
    for reason in skipped(env):
        _say(f"skipping {reason}")
    _say_messaging_channels(env)
    if not settings.haproxy_available:
        _say("HAProxy is not installed: the action server is reached directly, so while it is "
             "down customers get no polite reply (make setup-web installs HAProxy)")
    if settings.actions_behind_balancer or settings.rasa_behind_balancer:
        config = haproxy.write_config(settings, run_dir)
        problem = haproxy.check_config(settings, config)
        if problem:
            raise SystemExit(f"run: HAProxy refused {config}: {problem}")
    demo_count = demo_wanted(env)  # asked before a customer's message can reach the database
    password = secret("supervisor", "SUPERVISOR_PASSWORD", env=env)
    conf = supervisor.write(
        services, run_dir=run_dir, workdir=ROOT, password=password,
        watchdog_argv=[sys.executable, "-m", "runtime.watchdog", "--run-dir", str(run_dir)],
    )
    _say(f"starting {len(services)} services under supervisord ({conf}); "
         f"logs in {run_dir / 'logs'}")
    if settings.rasa_replicas > 1 or settings.action_replicas > 1:
        _say(f"{settings.rasa_replicas} Rasa servers and {settings.action_replicas} action "
             "servers behind HAProxy")
    daemon = subprocess.Popen(  # noqa: S603 - fixed argv
        [str(VENV_BIN / "supervisord"), "-c", str(conf)], cwd=ROOT, env=env,
    )

    def _on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    demo: subprocess.Popen[bytes] | None = None
    try:
        for service in services:
            if service.health_url is None:
                continue
            deadline = time.monotonic() + service.startup_seconds
            while not _ready(service.health_url):
                if daemon.poll() is not None:
                    _say(f"supervisord exited with code {daemon.returncode}")
                    return 1
                if time.monotonic() > deadline:
                    _say(f"{service.title} was not healthy within {service.startup_seconds:.0f} s "
                         f"(see {run_dir / 'logs' / (service.name + '.log')}); "
                         "supervisord keeps trying")
                    break
                time.sleep(0.5)
            else:
                _say(f"{service.title} is up ({service.health_url})")
        if not _wait_until_answering(settings.rasa_port, rasa_api_token(env), daemon):
            _say(f"supervisord exited with code {daemon.returncode}")
            return 1
        _print_usage(env, run_dir)
        if demo_count:  # an empty dashboard gets demo data
            demo = start_demo(env, run_dir / "logs", demo_count)
        return daemon.wait()
    except KeyboardInterrupt:
        _say("stopping every service")
        return 0
    finally:
        if demo is not None and demo.poll() is None:
            os.killpg(demo.pid, signal.SIGTERM)
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        _say("stopped")


PARALLEL_INDEX_CORES = 4  # the training and its warmer take two, the index build the rest


def train_and_index(env: dict[str, str], cores: int | None = None) -> None:
    """Train the Rasa model if needed and build (or update) the knowledge index: at the same time
    on four cores or more, one after the other below that. A training already keeps two cores
    busy (Rasa on one, nlu.warm_cache encoding the training texts on the other): on two cores,
    training and a first index build together took 172 s against 167 s one after the other
    (load 2-3). The index's output is shown after the training's."""
    train_title = "training the Rasa model if its data or config changed"
    train_argv = [sys.executable, "-m", "scripts.train"]
    kb = str(VENV_BIN / "kb")
    if _live_kb_version(env) is None:
        kb_title, kb_argv = "building the knowledge index (no version is live yet)", [kb, "build"]
    else:
        kb_title, kb_argv = "updating the knowledge index with changed articles", [kb, "update"]
    if (cores if cores is not None else available_cores()) < PARALLEL_INDEX_CORES:
        _step(train_title, train_argv, env)
        _step(kb_title, kb_argv, env)
        return
    _say(f"{kb_title}, in the background")
    with tempfile.TemporaryFile() as kb_output:
        index = subprocess.Popen(kb_argv, cwd=ROOT, env=env,  # noqa: S603 - fixed argv
                                 stdout=kb_output, stderr=subprocess.STDOUT)
        try:
            _step(train_title, train_argv, env)
        except BaseException:
            index.terminate()
            index.wait()
            raise
        if index.poll() is None:
            _say("waiting for the knowledge index")
        code = index.wait()
        kb_output.seek(0)
        sys.stdout.write(kb_output.read().decode("utf-8", "replace"))
        sys.stdout.flush()
    if code != 0:
        raise SystemExit(f"run: '{kb_title}' failed (exit {code}); nothing was started")


def main() -> int:
    env = _load_env()
    python = sys.executable
    _step(
        "preparing the order/CRM store (migrate, seed if empty)",
        [python, "-m", "store.cli", "seed"],
        env,
    )
    train_and_index(env)
    return _supervise(env)


if __name__ == "__main__":
    sys.exit(main())
