"""Init time of the release function binaries: process start to the first Runtime API `next`
call, over several starts, against moto (the init's two warm-up round trips included).

usage: python3 bench/lambda_init.py BIN_DIR MOTO_URL [STARTS]
"""

import http.server
import os
import statistics
import subprocess
import sys
import threading
import time

FUNCTIONS = ["api", "mcp", "ingest", "ai-reply", "outbound", "webhook-fanout"]


class Runtime(http.server.BaseHTTPRequestHandler):
    first_next = None

    def do_GET(self):
        if Runtime.first_next is None:
            Runtime.first_next = time.perf_counter()
        time.sleep(5)  # never hands out an event

    def log_message(self, *args):
        pass


def init_ms(binary, endpoint, env):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Runtime.first_next = None
    full = dict(env, AWS_ENDPOINT_URL=endpoint,
                AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
                AWS_LAMBDA_FUNCTION_NAME=os.path.basename(binary),
                AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
                AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/x", AWS_LAMBDA_LOG_STREAM_NAME="local",
                RUST_LOG="error")
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while Runtime.first_next is None:
        if time.perf_counter() - started > 10 or proc.poll() is not None:
            proc.kill()
            server.shutdown()
            raise SystemExit(f"{binary} did not reach `next`")
        time.sleep(0.0002)
    took = (Runtime.first_next - started) * 1000
    proc.kill()
    proc.wait()
    server.shutdown()
    return took


def main():
    bin_dir, moto = sys.argv[1], sys.argv[2]
    starts = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TABLE_NAME": "t", "KMS_KEY_ID": "k",
        "AI_REPLY_QUEUE_URL": f"{moto}/123456789012/a",
        "OUTBOUND_QUEUE_URL": f"{moto}/123456789012/o",
        "WEBHOOK_QUEUE_URL": f"{moto}/123456789012/w",
        "ADMIN_JWT_SECRET": "x" * 40, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    }
    # moto sets up a service's backend on its first request; that start is not the binary's.
    init_ms(os.path.join(bin_dir, FUNCTIONS[0]), moto, env)
    print(f"init ms over {starts} starts: median, max")
    for name in FUNCTIONS:
        runs = [init_ms(os.path.join(bin_dir, name), moto, env) for _ in range(starts)]
        print(f"  {name:<16}{statistics.median(runs):>8.1f}{max(runs):>8.1f}")


if __name__ == "__main__":
    main()
