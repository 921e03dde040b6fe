"""A tiny HTTP API: /health checks both backends, / counts notes, POST / queues a note."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import store


class Handler(BaseHTTPRequestHandler):
    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        try:
            if self.path == "/health":
                store.database().close()
                store.cache().ping()
                self._reply(200, {"status": "ok"})
            elif self.path == "/":
                self._reply(200, {"greeting": os.environ.get("DEMO_GREETING", ""),
                                  "notes": store.count_notes()})
            else:
                self._reply(404, {"error": "not found"})
        except Exception as error:  # report, never crash the server
            self._reply(503, {"error": str(error)})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        store.cache().rpush("jobs", self.rfile.read(length) or b"note")
        self._reply(202, {"queued": True})


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
