"""A real SMTP server for the e-mail tests: aiosmtpd (not a fake written for them), on a free
loopback port, in one of a few modes, writing each accepted message as a JSON line.

    python3 server.py MODE OUT.jsonl

Modes:
  plain       accepts every message, offers no AUTH
  auth        offers AUTH PLAIN/LOGIN without TLS; accepts user `shop`, password `right`
              (anything else: 535 5.7.8, as servers say a wrong password)
  busy-once   the first message is answered 421 at the end of DATA, the next ones accepted
Prints `port N` once it listens, then serves until killed.
"""

import asyncio
import email
import email.policy
import json
import socket
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, mode, out):
        self.mode = mode
        self.out = out
        self.seen = 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.mode == "busy-once" and self.seen == 1:
            return "421 4.3.2 Service not available, closing transmission channel"
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "raw": envelope.original_content.decode("utf-8", "replace"),
            "from": str(parsed["From"]),
            "to": str(parsed["To"]),
            "subject": str(parsed["Subject"]),
            "mime_version": parsed["MIME-Version"],
            "message_id": parsed["Message-ID"],
            "body": parsed.get_content(),
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"shop"
        and auth_data.password == b"right"
    )
    return AuthResult(success=ok, handled=False)


def main():
    mode, out = sys.argv[1], sys.argv[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = {}
    if mode == "auth":
        options = {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(Recorder(mode, out), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print(f"port {port}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
