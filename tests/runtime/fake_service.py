"""A tiny HTTP service for the supervision tests: `python fake_service.py PORT STATE_FILE`.

GET /health answers 200, or 500 while STATE_FILE contains "sick"; the pid is in the body.
"""

from __future__ import annotations

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    port, state = int(sys.argv[1]), Path(sys.argv[2])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            sick = state.exists() and state.read_text().strip() == "sick"
            body = str(os.getpid()).encode()
            self.send_response(500 if sick else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
