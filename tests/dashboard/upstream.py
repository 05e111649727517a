"""The services Switchboard calls, faked on loopback for the browser tests, answering as their
documentation shows: Meta's Graph API (sends, `message_templates` with its paging) and an
OpenAI-compatible endpoint (chat completions, speech-to-text). Every request is recorded."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PHONE_NUMBER_ID = "106540352242922"
BUSINESS_ACCOUNT_ID = "102290129340398"
ACCESS_TOKEN = "EAAJB-dashboard-token"
APP_SECRET = "dashboard-app-secret"
CUSTOMER = "16505551234"
TRANSCRIPT = "I would like to book a repair for Saturday morning"

# As Meta's `GET /{waba}/message_templates` lists them.
TEMPLATES = [
    {"name": "order_ready", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
     "parameter_format": "NAMED", "id": "594425479261596",
     "components": [
         {"type": "BODY", "text": "Hi {{first_name}}, your bike {{model}} is ready for pickup.",
          "example": {"body_text_named_params": [
              {"param_name": "first_name", "example": "Ann"},
              {"param_name": "model", "example": "Cargo 2"}]}}]},
    {"name": "winter_sale", "language": "en_US", "status": "PAUSED", "category": "MARKETING",
     "parameter_format": "POSITIONAL", "id": "594425479261598",
     "components": [{"type": "BODY", "text": "Winter is here."}]},
]


class Upstream:
    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                upstream.record("GET", self.path, None)
                if self.path.split("?")[0].endswith(f"/{BUSINESS_ACCOUNT_ID}/message_templates"):
                    cursor = "QVFIUmxtY0FDa3VE"
                    self.answer(200, {"data": TEMPLATES, "paging": {"cursors": {"before": cursor, "after": cursor}}})
                else:
                    self.answer(404, {"error": {"message": "Unknown path", "type": "OAuthException", "code": 803}})

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                body = None
                if "json" in (self.headers.get("content-type") or ""):
                    body = json.loads(raw or b"null")
                upstream.record("POST", self.path, body)
                if self.path.endswith(f"/{PHONE_NUMBER_ID}/messages"):
                    if body.get("status") == "read":
                        return self.answer(200, {"success": True})
                    to = body.get("to", "")
                    n = len(upstream.sends())
                    self.answer(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                      "messages": [{"id": f"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlE{n}"}]})
                elif self.path.endswith("/audio/transcriptions"):
                    self.answer(200, {"text": TRANSCRIPT})
                elif self.path.endswith("/chat/completions"):
                    self.answer(200, {
                        "id": "chatcmpl-dashboard", "object": "chat.completion", "created": int(time.time()),
                        "model": "gpt-4o-mini",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "We can do Saturday at 10."}}],
                        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}})
                else:
                    self.answer(404, {"error": {"message": "not found"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, method, path, body):
        with self.lock:
            self.requests.append((method, path, body))

    def sends(self):
        """The messages sent through the Graph API (not read receipts or typing)."""
        with self.lock:
            return [b for m, p, b in self.requests
                    if m == "POST" and p.endswith(f"/{PHONE_NUMBER_ID}/messages") and b and "to" in b]

    def stop(self):
        self.server.shutdown()


def whatsapp_notification(wamid, text, seconds_ago=60, customer=CUSTOMER, name="Sheena Nelson"):
    """A signed `messages` notification from a customer, as Meta posts it: (body, signature)."""
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": BUSINESS_ACCOUNT_ID, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": customer}],
            "messages": [{"from": customer, "id": wamid, "timestamp": str(int(time.time()) - seconds_ago),
                          "type": "text", "text": {"body": text}}]}}]}]}).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, signature
