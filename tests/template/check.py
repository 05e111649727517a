#!/usr/bin/env python3
"""Checks the SAM template, the function crates it builds and the sample events.

Run from anywhere:  python3 tests/template/check.py

Needs Python 3.11+, cfn-lint and aws-sam-translator (cfn-lint depends on it):
    pip install cfn-lint aws-sam-translator

Checks, all of which must pass (a missing tool is a failure, not a skip):
  1. `cfn-lint infra/template.yaml` prints nothing and exits 0.
  2. The SAM translator turns the template into CloudFormation offline, without errors.
  3. Every AWS::Serverless::Function is built by cargo-lambda from the workspace root and
     its Metadata.BuildProperties.Binary names a binary of the crate functions/<Binary>
     (a [[bin]] name, or the package name for src/main.rs), a workspace member.
  4. Every function has at least one sample event in events/<Binary>/ that parses; HTTP
     samples are API Gateway payload 2.0 events for one of the function's routes; SQS
     samples hold exactly two records of well-formed job bodies for the function's queue.
  5. Every events/* directory belongs to a function.
  6. The shared environment carries the variable names fixed by the HTTP contract, and every
     variable the Lambda start-up code requires (`required("NAME")` in shared/aws, shared/lambda).
"""

from __future__ import annotations

import copy
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
EVENTS = ROOT / "events"

# Job kinds each SQS consumer's queue carries (serde tag `kind`), and their required fields.
JOB_KINDS = {
    "ai-reply": {"reply"},
    "outbound": {"send", "typing", "status", "lease_end"},
    # "deliver" is the delivery job's name in queues written before it became "deliver_webhook".
    "webhook-fanout": {"event", "deliver_webhook", "deliver"},
}
JOB_FIELDS = {
    "reply": {"account_id", "chat_id", "message_id"},
    "send": {"account_id", "chat_id", "message_id"},
    "typing": {"account_id", "chat_id"},
    "status": {"account_id", "report", "attempt"},
    "lease_end": {"account_id", "chat_id", "message_id", "until"},
    "event": {"id", "type", "created_at", "account_id", "data"},
    "deliver_webhook": {"webhook_id", "event", "attempt"},
    "deliver": {"webhook_id", "event", "attempt"},
}
EVENT_TYPES = {
    "message.received",
    "message.sent",
    "message.status",
    "ai.reply.generated",
    "ai.reply.sent",
    "ai.reply.failed",
    "ai.reply.skipped",
}
# Names fixed by the HTTP contract (shared/API.md, "Running it").
REQUIRED_ENV = {
    "TABLE_NAME",
    "KMS_KEY_ID",
    "AI_REPLY_QUEUE_URL",
    "OUTBOUND_QUEUE_URL",
    "WEBHOOK_QUEUE_URL",
    "ADMIN_JWT_SECRET",
    "ALLOW_PRIVATE_NETWORK_URLS",
}
# Where the Lambda start-up reads its required settings (`required("NAME")`).
READ_ENV_DIRS = ("shared/aws/src", "shared/lambda/src")
REQUIRED_CALL_RE = re.compile(r'\brequired\(\s*"([A-Z][A-Z0-9_]*)"\s*\)')
# prefix + ULID (Crockford base32, 26 chars, first char 0-7)
ID_RE = re.compile(r"\b(acc|msg|ail|wh|evt)_([0-9A-Za-z]{26})\b")
ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")

failures: list[str] = []


def fail(msg: str) -> None:
    failures.append(msg)


def rel(p: Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


# ------------------------------------------------------------------ 1. cfn-lint
def run_cfn_lint() -> None:
    exe = shutil.which("cfn-lint")
    cmd = [exe] if exe else [sys.executable, "-m", "cfnlint"]
    try:
        proc = subprocess.run(
            [*cmd, "--", str(TEMPLATE)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except FileNotFoundError:
        fail("cfn-lint is not installed (pip install cfn-lint)")
        return
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or output:
        if "No module named cfnlint" in output:
            fail("cfn-lint is not installed (pip install cfn-lint)")
        else:
            fail(f"cfn-lint reported problems (exit {proc.returncode}):\n{output}")


# ------------------------------------------------------------------ template loading
def load_template() -> dict | None:
    try:
        from cfnlint.decode import decode
    except ImportError:
        fail("cannot import cfnlint to read the template (pip install cfn-lint)")
        return None
    template, matches = decode(str(TEMPLATE))
    if matches or template is None:
        fail("infra/template.yaml does not parse:\n" + "\n".join(str(m) for m in matches or []))
        return None
    # cfn-lint's nodes subclass dict/str/list; make them plain for the translator.
    return json.loads(json.dumps(template))


# ------------------------------------------------------------------ 2. SAM translator
class OfflinePolicyLoader:
    """Stands in for ManagedPolicyLoader: the template names no managed policies, so no IAM call."""

    def load(self) -> dict[str, str]:
        return {}


def translate(template: dict) -> dict | None:
    try:
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.translator.transform import transform
    except ImportError:
        fail("cannot import samtranslator (pip install aws-sam-translator)")
        return None
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    doc = copy.deepcopy(template)
    # `sam build`/`sam package` replace local CodeUri paths with S3 locations; do the same.
    for res in doc.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            code = res.get("Properties", {}).get("CodeUri")
            if isinstance(code, str) and not code.startswith("s3://"):
                res["Properties"]["CodeUri"] = "s3://placeholder-bucket/code.zip"
    try:
        out = transform(doc, {}, OfflinePolicyLoader())
    except InvalidDocumentException as exc:
        causes = "\n".join(f"  - {c.message}" for c in exc.causes)
        fail(f"SAM translator rejected the template:\n{causes}")
        return None
    except Exception as exc:  # noqa: BLE001 - report anything the translator raises
        fail(f"SAM translator failed: {type(exc).__name__}: {exc}")
        return None
    for logical_id, res in template["Resources"].items():
        if res.get("Type") == "AWS::Serverless::Function":
            got = out.get("Resources", {}).get(logical_id, {}).get("Type")
            if got != "AWS::Lambda::Function":
                fail(f"SAM translation produced no AWS::Lambda::Function for {logical_id}")
    return out


# ------------------------------------------------------------------ 3. crates
def workspace_members() -> list[str]:
    manifest = ROOT / "Cargo.toml"
    try:
        data = tomllib.loads(manifest.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        fail(f"cannot read the workspace manifest Cargo.toml: {exc}")
        return []
    ws = data.get("workspace")
    if not isinstance(ws, dict):
        fail("Cargo.toml at the repository root has no [workspace]")
        return []
    members: list[str] = []
    for pattern in ws.get("members", []):
        if any(c in pattern for c in "*?["):
            members.extend(rel(Path(m)) for m in sorted(glob.glob(str(ROOT / pattern))))
        else:
            members.append(str(Path(pattern)))
    excluded = ws.get("exclude", [])
    return [m for m in members if not any(fnmatch.fnmatch(m, e) for e in excluded)]


def crate_binaries(crate_dir: Path, manifest: dict) -> set[str]:
    package = manifest.get("package", {})
    names: set[str] = set()
    main_claimed = False
    for b in manifest.get("bin", []):
        if "name" in b:
            names.add(b["name"])
        if (crate_dir / b.get("path", f"src/bin/{b.get('name', '')}.rs")).resolve() == (crate_dir / "src/main.rs").resolve():
            main_claimed = True
    if package.get("autobins", True) and (crate_dir / "src" / "main.rs").is_file() and not main_claimed:
        if "name" in package:
            names.add(package["name"])
    return names


def check_function(logical_id: str, res: dict, members: list[str]) -> str | None:
    props = res.get("Properties", {})
    meta = res.get("Metadata", {})
    if meta.get("BuildMethod") != "rust-cargolambda":
        fail(f"{logical_id}: Metadata.BuildMethod must be rust-cargolambda, found {meta.get('BuildMethod')!r}")
    binary = meta.get("BuildProperties", {}).get("Binary")
    if not isinstance(binary, str) or not binary:
        fail(f"{logical_id}: Metadata.BuildProperties.Binary is missing")
        return None

    code_uri = props.get("CodeUri")
    if not isinstance(code_uri, str):
        fail(f"{logical_id}: CodeUri must be a local path to the Cargo workspace root")
    else:
        code_dir = (TEMPLATE.parent / code_uri).resolve()
        if code_dir != ROOT:
            fail(f"{logical_id}: CodeUri {code_uri!r} resolves to {code_dir}, not the workspace root {ROOT}")

    crate_dir = ROOT / "functions" / binary
    manifest_path = crate_dir / "Cargo.toml"
    if not manifest_path.is_file():
        fail(f"{logical_id}: crate {rel(manifest_path)} for binary {binary!r} does not exist")
        return binary
    try:
        manifest = tomllib.loads(manifest_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        fail(f"{logical_id}: {rel(manifest_path)} is not valid TOML: {exc}")
        return binary
    bins = crate_binaries(crate_dir, manifest)
    if binary not in bins:
        fail(
            f"{logical_id}: BuildProperties.Binary {binary!r} is not a binary of {rel(manifest_path)} "
            f"(binaries there: {sorted(bins) or 'none'})"
        )
    if rel(crate_dir) not in members:
        fail(f"{logical_id}: {rel(crate_dir)} is not a member of the Cargo workspace (Cargo.toml [workspace].members)")
    return binary


# ------------------------------------------------------------------ 4. sample events
def function_routes(res: dict) -> tuple[set[str], list[str]]:
    """(HttpApi route keys, SQS queue logical ids) of a function's event sources."""
    routes: set[str] = set()
    queues: list[str] = []
    for ev in (res.get("Properties", {}).get("Events") or {}).values():
        kind = ev.get("Type")
        p = ev.get("Properties") or {}
        if kind == "HttpApi":
            if "Path" in p or "Method" in p:
                routes.add(f"{str(p.get('Method', 'ANY')).upper()} {p.get('Path', '/')}")
            else:
                routes.add("$default")
        elif kind == "SQS":
            q = p.get("Queue")
            if isinstance(q, dict) and "Fn::GetAtt" in q:
                target = q["Fn::GetAtt"]
                queues.append(target[0] if isinstance(target, list) else str(target).split(".")[0])
            else:
                queues.append(str(q))
    return routes, queues


def check_ids(path: Path, text: str) -> None:
    for m in ID_RE.finditer(text):
        if not ULID_RE.match(m.group(2)):
            fail(f"{rel(path)}: {m.group(0)} is not a prefix plus a ULID (Crockford base32, first char 0-7)")


def check_http_sample(path: Path, ev: dict, routes: set[str]) -> None:
    if ev.get("version") != "2.0":
        fail(f"{rel(path)}: HTTP API samples must be payload format 2.0 (version \"2.0\")")
    if ev.get("routeKey") not in routes:
        fail(f"{rel(path)}: routeKey {ev.get('routeKey')!r} is not a route of this function ({sorted(routes)})")
    ctx = ev.get("requestContext") or {}
    http = ctx.get("http") or {}
    if not http.get("method") or not isinstance(ev.get("rawPath"), str):
        fail(f"{rel(path)}: missing requestContext.http.method or rawPath")
    if http.get("path") != ev.get("rawPath"):
        fail(f"{rel(path)}: requestContext.http.path differs from rawPath")
    if ctx.get("routeKey") != ev.get("routeKey"):
        fail(f"{rel(path)}: requestContext.routeKey differs from routeKey")
    headers = ev.get("headers") or {}
    if any(k != k.lower() for k in headers):
        fail(f"{rel(path)}: HTTP API 2.0 header names are lower-case")
    if "body" in ev:
        if not isinstance(ev["body"], str):
            fail(f"{rel(path)}: body must be a string")
        elif not ev.get("isBase64Encoded"):
            try:
                json.loads(ev["body"])
            except json.JSONDecodeError as exc:
                fail(f"{rel(path)}: body is not JSON: {exc}")
            if headers.get("content-length") not in (None, str(len(ev["body"].encode()))):
                fail(f"{rel(path)}: content-length header does not match the body")


def check_sqs_sample(path: Path, ev: dict, binary: str) -> None:
    records = ev.get("Records")
    if not isinstance(records, list) or len(records) != 2:
        n = len(records) if isinstance(records, list) else "no"
        fail(f"{rel(path)}: SQS samples must hold exactly two Records, found {n}")
        return
    expected_kinds = JOB_KINDS.get(binary)
    for i, r in enumerate(records):
        where = f"{rel(path)} Records[{i}]"
        for key in ("messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                    "eventSource", "eventSourceARN", "awsRegion"):
            if key not in r:
                fail(f"{where}: missing {key}")
        if r.get("eventSource") != "aws:sqs":
            fail(f"{where}: eventSource must be aws:sqs")
        if not str(r.get("eventSourceARN", "")).startswith("arn:aws:sqs:"):
            fail(f"{where}: eventSourceARN is not an SQS queue ARN")
        attrs = r.get("attributes") or {}
        for key in ("ApproximateReceiveCount", "SentTimestamp"):
            if not str(attrs.get(key, "")).isdigit():
                fail(f"{where}: attributes.{key} must be a string of digits")
        body = r.get("body")
        if not isinstance(body, str):
            fail(f"{where}: body must be a string")
            continue
        if r.get("md5OfBody") != hashlib.md5(body.encode()).hexdigest():
            fail(f"{where}: md5OfBody is not the MD5 of body")
        try:
            job = json.loads(body)
        except json.JSONDecodeError as exc:
            fail(f"{where}: body is not JSON: {exc}")
            continue
        kind = job.get("kind") if isinstance(job, dict) else None
        if expected_kinds and kind not in expected_kinds:
            fail(f"{where}: job kind {kind!r}, expected one of {sorted(expected_kinds)} on this queue")
            continue
        missing = JOB_FIELDS.get(kind, set()) - set(job)
        if missing:
            fail(f"{where}: {kind} job lacks {sorted(missing)}")
        event = job.get("event") if kind == "deliver" else job
        if kind in ("event", "deliver") and (not isinstance(event, dict) or event.get("type") not in EVENT_TYPES):
            fail(f"{where}: unknown event type {event.get('type') if isinstance(event, dict) else event!r}")


def check_events(binary: str, res: dict) -> int:
    routes, queues = function_routes(res)
    folder = EVENTS / binary
    samples = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not samples:
        fail(f"{rel(folder)}/ holds no sample event (*.json) for function binary {binary!r}")
        return 0
    for path in samples:
        text = path.read_text()
        try:
            ev = json.loads(text)
        except json.JSONDecodeError as exc:
            fail(f"{rel(path)}: not valid JSON: {exc}")
            continue
        check_ids(path, text)
        if not isinstance(ev, dict):
            fail(f"{rel(path)}: the event must be a JSON object")
        elif queues:
            check_sqs_sample(path, ev, binary)
        elif routes:
            check_http_sample(path, ev, routes)
    return len(samples)


# ------------------------------------------------------------------ main
def main() -> int:
    if not TEMPLATE.is_file():
        print(f"FAIL: {rel(TEMPLATE)} does not exist", file=sys.stderr)
        return 1

    run_cfn_lint()
    template = load_template()
    if template is None:
        return report(0, 0)
    translate(template)

    functions = {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == "AWS::Serverless::Function"}
    if not functions:
        fail("the template declares no AWS::Serverless::Function")

    env = (((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables") or {}
    missing_env = REQUIRED_ENV - set(env)
    if missing_env:
        fail(f"Globals.Function.Environment.Variables lacks {sorted(missing_env)}")
    secret = env.get("ADMIN_JWT_SECRET")
    if secret is not None and "{{resolve:secretsmanager:" not in json.dumps(secret):
        fail("ADMIN_JWT_SECRET must be a Secrets Manager dynamic reference")

    # Every variable the Lambda start-up requires must be set by the template.
    for src in sorted(p for d in READ_ENV_DIRS for p in (ROOT / d).rglob("*.rs")):
        for name in sorted(set(REQUIRED_CALL_RE.findall(src.read_text()))):
            if name not in env:
                fail(f"{rel(src)} requires the environment variable {name}, which the template does not set")

    members = workspace_members()
    binaries: dict[str, str] = {}
    n_samples = 0
    for logical_id, res in functions.items():
        binary = check_function(logical_id, res, members)
        if binary is None:
            continue
        if binary in binaries.values():
            fail(f"{logical_id}: binary {binary!r} is used by another function too")
        binaries[logical_id] = binary
        n_samples += check_events(binary, res)

    if EVENTS.is_dir():
        for d in sorted(p for p in EVENTS.iterdir() if p.is_dir()):
            if d.name not in binaries.values():
                fail(f"{rel(d)}/ does not belong to any function (binaries: {sorted(binaries.values())})")

    return report(len(functions), n_samples)


def report(n_functions: int, n_samples: int) -> int:
    if failures:
        for f in failures:
            print(f"FAIL: {f}", file=sys.stderr)
        print(f"template check: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print(
        f"template check: ok (cfn-lint clean, SAM translation ok, {n_functions} functions, "
        f"{n_samples} sample events)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
