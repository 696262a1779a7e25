"""The demo page server (web/serve.py) and the web set-up script, without a browser."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from web.serve import BUNDLE_PATH, BundleMissing, WebSettings, build_app, config_script

ROOT = Path(__file__).resolve().parents[2]


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "18080")
    monkeypatch.setenv("RASA_PORT", "5999")
    monkeypatch.delenv("RASA_SOCKET_URL", raising=False)
    settings = WebSettings.from_env()
    assert (settings.port, settings.socket_url) == (18080, "http://localhost:5999")
    monkeypatch.setenv("WEB_PORT", "eighty")
    with pytest.raises(ValueError, match="WEB_PORT"):
        WebSettings.from_env()
    monkeypatch.setenv("WEB_PORT", "8080")
    monkeypatch.setenv("WEB_CHAT_STORAGE", "cookie")
    with pytest.raises(ValueError, match="WEB_CHAT_STORAGE"):
        WebSettings.from_env()


def test_config_script_is_json_for_the_widget() -> None:
    script = config_script(WebSettings(socket_url="http://localhost:5005</script>"))
    assert script.startswith("window.NORDVIK_CHAT = {")
    assert '"socketUrl": "http://localhost:5005</script>"' in script
    assert '"storage": "local"' in script


def test_config_script_carries_the_widget_labels_in_every_language() -> None:
    import json

    from message_catalogue.messages import get_catalogue

    script = config_script(WebSettings())
    labels = json.loads(script[len("window.NORDVIK_CHAT = "):].rstrip().rstrip(";"))["labels"]
    assert set(labels) == {"en", "sv", "nb", "zh"}
    assert labels["sv"]["hint"] == get_catalogue().text("utter_part_widget_hint", "sv")
    assert labels["zh"]["subtitle"] == "客服中心" and labels["en"]["subtitle"] == "Customer service"
    assert len({entry["hint"] for entry in labels.values()}) == 4


def test_missing_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundleMissing, match="make setup-web"):
        build_app(WebSettings(bundle_path=tmp_path / "nope.js"))


@pytest.mark.skipif(not BUNDLE_PATH.is_file(), reason="run `make setup-web` first")
async def test_page_config_and_bundle_are_served() -> None:
    app = build_app(WebSettings(socket_url="http://127.0.0.1:5999"))
    async with TestClient(TestServer(app)) as client:
        page = await client.get("/")
        assert page.status == 200 and "Nordvik Home" in await page.text()
        config = await client.get("/config.js")
        assert "http://127.0.0.1:5999" in await config.text()
        bundle = await client.get("/vendor/rasa-webchat.js")
        assert bundle.status == 200 and "WebChat" in (await bundle.text())[:2000]
        assert (await client.get("/widget.js")).status == 200
        assert (await client.get("/../pyproject.toml")).status == 404


def test_setup_web_is_quiet_when_everything_is_installed() -> None:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "setup_web.sh")], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert BUNDLE_PATH.is_file()
