"""A webhook receiver run as its own process by the tests: checks every signature, answers 500 to the first
N requests and 200 afterwards, and tells what it got at GET /log.

    python -m tests.integrations.receiver --secret whsec_... --fail-first 3      # prints "PORT <n>"
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_ok(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamp = next((v for k, v in parts if k == "t"), "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


def serve(secret: str, fail_first: int, delay: float = 0.0) -> ThreadingHTTPServer:
    state = {"requests": 0, "log": [], "lock": threading.Lock()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            with state["lock"]:
                body = json.dumps(state["log"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            ok = signature_ok(secret, self.headers.get("X-Toolbox-Signature", ""), raw)
            event = json.loads(raw) if ok else {}
            with state["lock"]:
                state["requests"] += 1
                status = 500 if state["requests"] <= fail_first else (200 if ok else 400)
                state["log"].append({"event_id": event.get("id"), "type": event.get("type"),
                                     "header_event": self.headers.get("X-Toolbox-Event"), "signature_ok": ok,
                                     "status": status, "data": event.get("data")})
            if delay:
                time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    server = serve(args.secret, args.fail_first)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
