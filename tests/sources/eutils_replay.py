"""A local HTTP server that replays recorded E-utilities responses (tests/fixtures/eutils)."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIX = Path(__file__).parents[1] / "fixtures" / "eutils"


@dataclass
class Script:
    """What the server answers: planned failures first (per endpoint), then the recordings."""

    esearch: str = "esearch_usehistory.xml"
    failures: dict[str, list[int]] = field(default_factory=dict)  # endpoint -> statuses to answer first
    fail_efetch_from: int | None = None  # answer 500 to every efetch at or after this retstart
    efetch_error_once: bytes | None = None  # a 200 error document for the first efetch (expired WebEnv)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def replay(script: Script) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urllib.parse.urlsplit(self.path)
            endpoint = url.path.rsplit("/", 1)[-1]
            params = dict(urllib.parse.parse_qsl(url.query))
            script.requests.append((endpoint, params))
            planned = script.failures.get(endpoint) or []
            if planned:
                status = planned.pop(0)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                return
            if endpoint == "esearch.fcgi":
                body = (FIX / script.esearch).read_bytes()
            elif endpoint == "efetch.fcgi" and script.efetch_error_once:
                body, script.efetch_error_once = script.efetch_error_once, None
            elif endpoint == "efetch.fcgi":
                retstart = int(params["retstart"])
                if script.fail_efetch_from is not None and retstart >= script.fail_efetch_from:
                    self.send_response(500)
                    self.end_headers()
                    return
                page = retstart // int(params["retmax"]) + 1
                body = (FIX / f"efetch_page{page}.xml").read_bytes()
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/entrez/eutils"
    finally:
        server.shutdown()
        server.server_close()
