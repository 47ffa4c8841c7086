"""A stand-in for Stripe's API over real HTTP, on a loopback port, for code running in other processes (workers).

In this process ``responses`` fakes Stripe at the HTTP level; a worker is
another process, so it talks to this server instead, through the
``STRIPE_API_BASE`` setting. It answers the two calls the money code makes
here: Checkout Sessions, and refunds, the first ``refund_failures`` of which
it refuses with a server error, as Stripe does when it is having trouble.
"""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    form: dict[str, str]


class StripeFake:
    def __init__(self, *, refund_failures: int = 0) -> None:
        self.refund_failures = refund_failures
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                call = Call(
                    path=self.path,
                    headers=dict(self.headers.items()),
                    form={key: values[0] for key, values in parse_qs(body).items()},
                )
                status, answer = fake._answer(call)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _answer(self, call: Call) -> tuple[int, dict]:
        with self._lock:
            self.calls.append(call)
            if call.path == "/v1/checkout/sessions":
                session = {"id": "cs_test_fake", "object": "checkout.session", "status": "open"}
                session["url"] = f"{self.url}/pay"
                return 200, session
            if call.path == "/v1/refunds":
                refused = sum(1 for earlier in self.calls if earlier.path == "/v1/refunds") <= self.refund_failures
                if refused:
                    return 500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}
                amount = int(call.form["amount"])
                return 200, {"id": "re_fake", "object": "refund", "amount": amount, "status": "succeeded"}
            return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {call.path}"}}

    def refund_calls(self) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.path == "/v1/refunds"]

    def start(self) -> "StripeFake":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
