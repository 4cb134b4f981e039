#!/usr/bin/env python3
"""Health-endpoint stand-in for images Debian does not package (Grafana, Loki, Promtail).

Usage: health_stub.py PORT PATH=BODY [PATH=BODY ...]
Answers 200 with BODY on each PATH, 404 elsewhere. Only the contract the stack relies on
(ports and health paths) is honoured; see shared/reference/image-contracts.md.
"""
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
ROUTES = dict(arg.split("=", 1) for arg in sys.argv[2:])


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        body = ROUTES.get(path)
        code = 200 if body is not None else 404
        data = (body if body is not None else "not found").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if data[:1] in (b"{", b"[") else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# PID 1 in a container ignores SIGTERM unless it is handled: stop at once, as the real server does.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
