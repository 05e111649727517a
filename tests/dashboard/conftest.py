"""The dashboard in a real browser: `switchboard serve` (the binary the test command builds) on a
fresh data dir, driven by Playwright in Debian's Chromium. Each page visited is screenshotted
into `tests/dashboard/artifacts/` (not committed)."""

import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from upstream import Upstream

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "dashboard-test-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "debug" / "switchboard"
    if not path.exists():
        pytest.fail(f"{path} is missing: build it first (cargo build -p switchboard)")
    return path


class Server:
    """`switchboard serve`, and the API as the tests' own client (to arrange and to check)."""

    def __init__(self, data_dir, upstream):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout = Path(data_dir).with_suffix(".stdout")
        env = {
            "SWITCHBOARD_ADDR": f"127.0.0.1:{self.port}",
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "ADMIN_PASSWORD": PASSWORD,
            "RUST_LOG": "warn",
            "WHATSAPP_API_BASE_URL": upstream.base,
            "PATH": os.environ.get("PATH", ""),
        }
        self.process = subprocess.Popen(
            [binary(), "serve"], env=env, stdout=self.stdout.open("w"), stderr=subprocess.STDOUT
        )
        banner = self.until(lambda: self.banner_if_whole(), "the banner")
        lines = banner.splitlines()
        after = lambda label: next(lines[i + 1].strip() for i, l in enumerate(lines) if label in l)
        self.admin = after("admin token")
        self.sandbox_token = after("sandbox account")
        self.sandbox = re.search(r"sandbox account (acc_\w+)", banner).group(1)

    def banner_if_whole(self):
        text = self.stdout.read_text()
        lines = text.splitlines()
        whole = any("sandbox account" in l for l in lines[:-1]) and lines[-1].strip()
        return text if whole else None

    def until(self, check, what, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            if self.process.poll() is not None:
                raise AssertionError(f"switchboard exited: {self.stdout.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def call(self, method, path, body=None, token=None, raw=None, headers=None):
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if raw is None:
            request.add_header("authorization", f"Bearer {token or self.admin}")
        if data is not None:
            request.add_header("content-type", "application/json")
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request) as r:
                text = r.read().decode()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "null")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="session", autouse=True)
def fresh_artifacts():
    """This run's screenshots only."""
    if ARTIFACTS.exists():
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def upstream():
    u = Upstream()
    yield u
    u.stop()


@pytest.fixture()
def server(upstream):
    with tempfile.TemporaryDirectory() as d:
        s = Server(Path(d) / "data", upstream)
        yield s
        s.stop()


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    p = context.new_page()
    errors = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 4" not in m.text else None)
    yield p
    context.close()
    assert not errors, f"errors in the page: {errors}"


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, server, path="/dashboard/"):
    page.goto(server.base + path)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
