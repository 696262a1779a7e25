"""The demo store page in a real headless Chromium (Debian's, driven by Playwright): the widget
talks to the real Rasa server and action server, answers an FAQ from a quick-reply button,
checks a real order from the store, keeps the conversation over a reload, and leaves a
screenshot in reports/widget.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.repository import OrderStore
from tests.handoff.stack import ROOT, Stack, free_port, wait_http
from tests.handoff.store_fixture import make_store
from web.serve import BUNDLE_PATH

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = ROOT / "reports" / "widget.png"


@pytest.fixture()
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    return make_store(tmp_path, monkeypatch)


@pytest.fixture()
def web_port() -> int:
    return free_port()


@pytest.fixture()
def stack(tmp_path: Path, crm: OrderStore, web_port: int) -> Iterator[Stack]:
    # WEB_PORT: the page's origin is the one origin Rasa's socket.io and CORS accept
    running = Stack.create(tmp_path, {"DATABASE_URL": str(crm.engine.url),
                                      "KB_URL": "http://127.0.0.1:9",
                                      "WEB_PORT": str(web_port)})
    try:
        running.start_actions()
        running.start_rasa()
        yield running
    finally:
        running.stop_all()


@pytest.fixture()
def page_url(stack: Stack, tmp_path: Path, web_port: int) -> Iterator[str]:
    assert BUNDLE_PATH.is_file(), f"{BUNDLE_PATH} is missing: run `make setup-web`"
    port = web_port
    env = {**os.environ, "RASA_SOCKET_URL": stack.rasa_url, "WEB_PORT": str(port)}
    log = open(tmp_path / "web.log", "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen([sys.executable, "-m", "web.serve", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 30, process, tmp_path / "web.log")
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_widget_answers_an_faq_and_a_real_order(page_url: str, crm: OrderStore) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: run `make setup-web`"
    # a real order and its e-mail, looked up through the store's API
    status, order_number, email = next(o for o in crm.sample_orders() if o[0] == "in_transit")
    status_reply = re.compile(rf"Order {order_number}\b[^.]* is on its way")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_url)
            page.locator(".rw-launcher").click()
            responses = page.locator(".rw-response")
            expect(responses.first).to_contain_text("Nordvik Home", timeout=90_000)

            # an FAQ through the page's quick-reply button
            page.get_by_role("button", name="Shipping times").click()
            expect(page.locator(".rw-client").last).to_contain_text("How long does shipping")
            expect(responses.last).to_contain_text("business days", timeout=60_000)

            # a real order, verified with its e-mail
            box = page.locator(".rw-new-message")
            box.fill("where is my order?")
            box.press("Enter")
            expect(responses.last).to_contain_text("order number", timeout=60_000)
            box.fill(order_number)
            box.press("Enter")
            # (the order-number question mentions the confirmation e-mail too)
            expect(responses.last).to_contain_text("which e-mail address", timeout=60_000)
            box.fill(email)
            box.press("Enter")
            expect(page.locator(".rw-messages-container")).to_contain_text(
                status_reply, timeout=60_000)
            # let the remaining replies render (the widget paces them), then take the picture
            expect(page.locator(".rw-response")).not_to_have_count(0)
            page.wait_for_timeout(4000)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

            # session persistence: a reload keeps the conversation
            page.reload()
            launcher = page.locator(".rw-launcher")
            expect(launcher).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1000)
            if not page.locator(".rw-messages-container").is_visible():
                launcher.click()
            expect(page.locator(".rw-messages-container")).to_contain_text(
                status_reply, timeout=30_000)
        finally:
            browser.close()
    assert status in ("delivered", "pending", "paid", "packed", "shipped", "in_transit",
                      "delayed", "cancelled", "returned", "refunded")
    assert SCREENSHOT.stat().st_size > 10_000
