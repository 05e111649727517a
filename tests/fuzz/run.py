"""Schemathesis against `switchboard serve`: every operation of /openapi.json, every check on
(the stateful phase included), as an admin, as an account and as a client API key. Run by
`scripts/fuzz-api` inside a loopback-only network namespace, so nothing the fuzzer makes up
(webhook URLs, provider calls) can leave the machine. Fails on any finding.

usage: run.py BINARY [EXAMPLES_PER_OPERATION]
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTS = Path(__file__).resolve().parent / "reports"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def start(binary, data_dir):
    port = free_port()
    log = Path(data_dir) / "serve.log"
    env = {
        "SWITCHBOARD_ADDR": f"127.0.0.1:{port}",
        "SWITCHBOARD_DATA_DIR": str(Path(data_dir) / "data"),
        "ADMIN_PASSWORD": "fuzz-password",
        "RUST_LOG": "warn",
        "PATH": os.environ.get("PATH", ""),
    }
    process = subprocess.Popen(
        [binary, "serve"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text()
        lines = text.splitlines()
        if any("sandbox account" in l for l in lines[:-1]) and lines[-1].strip():
            after = lambda label: next(
                lines[i + 1].strip() for i, l in enumerate(lines) if label in l
            )
            sandbox = re.search(r"sandbox account (acc_\w+)", text).group(1)
            return process, f"http://127.0.0.1:{port}", after("admin token"), sandbox, after(
                "sandbox account"
            ), log
        if process.poll() is not None:
            sys.exit(f"switchboard exited:\n{text}")
        time.sleep(0.05)
    process.kill()
    sys.exit(f"switchboard did not start:\n{log.read_text()}")


def fuzz(base, who, token, examples):
    """Starts one run (the three run side by side: each is mostly Python waiting on the server)."""
    REPORTS.mkdir(exist_ok=True)
    events = REPORTS / f"{who}.ndjson"
    output = REPORTS / f"{who}.txt"
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(Path(__file__).resolve().parent / "schemathesis.toml"),
        "run", f"{base}/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(examples),
        "--seed", os.environ.get("FUZZ_SEED", "1"),
        "--workers", "1",
        "--header", f"Authorization: Bearer {token}",
        "--report", "ndjson", "--report-ndjson-path", str(events),
        "--suppress-health-check", "too_slow,filter_too_much",
        "--warnings", "off",
        "--no-color",
    ]
    return who, events, output, time.monotonic(), subprocess.Popen(
        command, stdout=output.open("w"), stderr=subprocess.STDOUT
    )


def finish(run):
    who, events, output, started, process = run
    code = process.wait()
    seconds = time.monotonic() - started
    requests = 0
    if events.exists():
        for line in events.read_text().splitlines():
            requests += line.count('"request":')
    print(output.read_text())
    print(f"fuzz: as {who}: {requests} requests in {seconds:.0f} s, exit {code}")
    return code == 0, requests, seconds


def main():
    binary = sys.argv[1]
    examples = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    with tempfile.TemporaryDirectory(prefix="switchboard-fuzz-") as data_dir:
        process, base, admin, sandbox, account, log = start(binary, data_dir)
        try:
            key = call(base, "POST", "/v1/api-keys", admin, {
                "name": "fuzz", "phone_ids": ["*"], "channels": ["*"],
                "recipient_allowlist": None, "rate_limit_per_minute": 100000,
                "require_confirmation": False,
            })["key"]
            started = time.monotonic()
            runs = [
                fuzz(base, "admin", admin, examples),
                fuzz(base, "account", account, examples),
                fuzz(base, "api-key", key, examples),
            ]
            results = [finish(run) for run in runs]
            seconds = time.monotonic() - started
        finally:
            process.terminate()
            process.wait(timeout=10)
        if process.returncode not in (0, -15):
            print(log.read_text())
        total = sum(r[1] for r in results)
        print(f"fuzz: {total} requests in {seconds:.0f} s in all (the three side by side)")
        if not all(r[0] for r in results):
            sys.exit("fuzz: Schemathesis found problems (above)")


if __name__ == "__main__":
    main()
