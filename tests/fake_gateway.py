"""A tiny stand-in HTTP server for unit tests of the probe code only (never proof that a
capability works: the Molecule scenarios and integration tests use the real gateway)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeGateway:
    """Serves canned answers per path; unknown paths get HTML with 200, like the real gateway."""

    def __init__(self, answers, delay=0.0):
        self.answers = answers
        self.delay = delay
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                import time

                time.sleep(outer.delay)
                status, body = outer.answers.get(self.path, (200, "<!doctype html><html>Control UI</html>"))
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


HEALTHY = {
    "/healthz": (200, {"ok": True, "status": "live"}),
    "/readyz": (200, {"ready": True, "failing": [], "uptimeMs": 5000}),
    "/startupz": (200, {"ok": True, "status": "started", "version": "2026.9.6", "uptimeMs": 5000}),
}
