"""``logic-claims annotate serve``: a local web page to judge items, one at a time.

Standard library only (``http.server.ThreadingHTTPServer``). Bound to 127.0.0.1 unless
told otherwise: the page has no login, a rater names themself in the URL
(``/?annotator=alice``), so never expose it beyond a network you trust.

Safety
- Model text is data, never markup: the page (``static/page.html``, ``app.js``,
  ``app.css``) builds its DOM with ``textContent`` only, and a Content-Security-Policy
  forbids inline scripts, so an answer holding ``<script>`` is shown as those characters.
- Other sites cannot use the page. POSTs must be ``application/json`` (a cross-site form
  or no-cors fetch cannot send that without a CORS preflight, which this server never
  grants); a POST whose ``Origin`` is not this server, or whose ``Sec-Fetch-Site`` is
  not same-origin, is refused (403). A ``Host`` that is not a name of the bound address
  (``localhost`` and the loopback literals for a loopback bind) is refused (421), so a
  DNS-rebinding site can neither read nor write.
- Every refusal closes the connection, and a request must be framed by one plain
  ``Content-Length`` (``Transfer-Encoding`` is refused), so no body is ever read as a
  second request (request smuggling). These checks are in ``web_http.py``.
- Connections time out when silent (``idle_timeout``) and a request must arrive whole
  within ``request_deadline``; at most ``max_connections`` are served at once, beyond
  that a connection gets 503. Bad JSON (too deep, a too long number, a lone surrogate,
  a field of the wrong type) is a 400 with a JSON error, never a traceback.
- Every request opens its own SQLite connection; every judgment is its own
  ``BEGIN IMMEDIATE`` transaction naming its item, rater and dimension explicitly, so
  concurrent raters can neither lose nor cross writes.
"""

from __future__ import annotations

import io
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from logic_claims.annotations.records import ConflictError
from logic_claims.annotations.store import Store
from logic_claims.annotations.web_http import (
    MAX_BODY,
    DeadlineReader,
    HttpError,
    address_literal,
    bind_host,
    check_origin,
    parse_body,
    parse_host,
    read_body,
    url_host,
)
from logic_claims.tasks.errors import InputError, clip

IDLE_TIMEOUT = 15.0  # seconds a connection may stay silent, between or inside requests
REQUEST_DEADLINE = 30.0  # seconds for one whole request (line, headers, body) to arrive
MAX_CONNECTIONS = 64  # connections served at once; more get 503 and are closed
LINGER = 1.0  # seconds to drain what a refused client still sends, so it reads our answer


def _static(name: str) -> bytes:
    """A file of the page (``annotations/static/``), shipped as package data."""
    return (resources.files("logic_claims.annotations") / "static" / name).read_bytes()


# The page: HTML, and the script and style it loads (the CSP allows no inline ones).
# URL path -> (body, content type).
STATIC_FILES = {
    "/": (_static("page.html"), "text/html; charset=utf-8"),
    "/app.js": (_static("app.js"), "text/javascript; charset=utf-8"),
    "/app.css": (_static("app.css"), "text/css; charset=utf-8"),
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class RaterSessions:
    """Per-rater items skipped in this server's lifetime (skips are not judgments, so they
    are not stored: after a restart skipped items simply come back in order)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.skipped: dict[str, list[str]] = {}

    def get(self, annotator: str) -> list[str]:
        with self.lock:
            return list(self.skipped.get(annotator, []))

    def skip(self, annotator: str, item_id: str) -> None:
        with self.lock:
            items = [i for i in self.skipped.get(annotator, []) if i != item_id]
            self.skipped[annotator] = [*items, item_id]

    def unskip(self, annotator: str, item_id: str) -> None:
        with self.lock:
            items = self.skipped.get(annotator, [])
            self.skipped[annotator] = [i for i in items if i != item_id]


class AnnotationServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        store_path: Path,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
        request_deadline: float = REQUEST_DEADLINE,
    ):
        self.store_path = Path(store_path)
        with Store.open(self.store_path) as store:  # fail now, not on the first request
            store.check()
            self.dimensions = [
                {
                    **d.to_json(),
                    "keys": d.key_map(),
                    # what each label means to a rater: "no"/"yes" for 0/1
                    "captions": {label: d.caption(label) for label in d.labels},
                    # n/y duplicate 0/1 as keys; show one button per label
                    "hide_keys": [
                        k for k in d.key_map() if k in ("n", "y") and set(d.labels) == {"0", "1"}
                    ],
                }
                for d in store.dimensions
            ]
        self.sessions = RaterSessions()
        self.idle_timeout = idle_timeout
        self.request_deadline = request_deadline
        self.slots = threading.BoundedSemaphore(max_connections)
        host = bind_host(address[0])
        literal = address_literal(host)
        if literal is not None and literal.version == 6:
            self.address_family = socket.AF_INET6
        super().__init__((host, address[1]), Handler)
        self.host_names = self._host_names(host)

    def _host_names(self, host: str) -> set[str]:
        """The names a Host header may give for this server (DNS rebinding: a page of
        another site that resolves its own name to this address says that name)."""
        bound = ipaddress.ip_address(self.server_address[0])
        names = {url_host(host), url_host(bound.compressed)}
        if bound.is_loopback or bound.is_unspecified or host.lower() == "localhost":
            names |= {"localhost", "127.0.0.1", "[::1]"}
        if bound.is_unspecified:
            names.add(socket.gethostname().lower())
        return names

    def host_allowed(self, value: str | None) -> bool:
        parsed = None if value is None else parse_host(value)
        if parsed is None or parsed[1] != self.server_address[1]:
            return False
        name = parsed[0]
        if name in self.host_names:
            return True
        # Bound to every address: any address literal names this machine, never a name
        # that some other site's DNS controls.
        return ipaddress.ip_address(self.server_address[0]).is_unspecified and (
            address_literal(name) is not None
        )

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{url_host(host)}:{port}/"

    # -- a bounded number of connections, each in its own thread --------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self._refuse_busy(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.slots.release()  # before the close: a client that saw EOF finds a slot
            self.shutdown_request(request)

    def _refuse_busy(self, request: socket.socket) -> None:
        body = b'{"error": "too many connections; try again"}'
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
        )
        try:
            request.settimeout(1.0)
            request.sendall(head.encode("ascii") + body)
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.close_request(request)  # no lingering here: this thread accepts connections

    def shutdown_request(self, request: Any) -> None:
        """Send our FIN, then drain (bounded) what the client still sends before closing:
        closing with unread input sends a reset that can destroy the answer in flight."""
        try:
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER
            drained = 0
            while drained < 4 * MAX_BODY and (left := deadline - time.monotonic()) > 0:
                request.settimeout(left)
                chunk = request.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass
        self.close_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, never a traceback; a client that went away is not worth one."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        print(f"logic-claims serve: {type(exc).__name__}: {clip(str(exc))}", file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    server: AnnotationServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: raters' keys are noise
        pass

    # -- plumbing ------------------------------------------------------------------
    def setup(self) -> None:
        self.timeout = self.server.idle_timeout
        super().setup()
        self.rfile.close()
        self.reader = DeadlineReader(self.connection, self.server.idle_timeout)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        self.reader.deadline = time.monotonic() + self.server.request_deadline
        super().handle_one_request()

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        if status >= 400:
            # Whatever is left of the request is never read as another request.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json; charset=utf-8")

    def _check_host(self) -> None:
        if not self.server.host_allowed(self.headers.get("Host")):
            url = self.server.url
            raise HttpError(HTTPStatus.MISDIRECTED_REQUEST, f"unknown Host: this is {url}")

    def _handle(self, method: str) -> None:
        try:
            self._check_host()
            data = read_body(
                self.headers, self.rfile
            )  # a GET's body too: it must not become a request
            self.connection.settimeout(self.server.idle_timeout)  # not what the deadline left
            url = urllib.parse.urlsplit(self.path)
            if method == "GET":
                self._get(url.path, urllib.parse.parse_qs(url.query))
            else:
                check_origin(self.headers, self.server.host_allowed)
                self._post(url.path, parse_body(self.headers, data))
        except HttpError as exc:
            self._json({"error": str(exc)}, exc.status)
        except ConflictError as exc:
            self._json({"error": exc.problem}, HTTPStatus.CONFLICT)
        except InputError as exc:
            self._json({"error": exc.problem}, HTTPStatus.BAD_REQUEST)
        except Exception as exc:  # a bug or a broken store: one line, a 500, no traceback
            problem = f"{type(exc).__name__}: {clip(str(exc))}"
            where = f"{self.command} {clip(self.path)}"
            print(f"logic-claims serve: {where}: {problem}", file=sys.stderr)
            self._json({"error": f"internal error ({problem})"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    # -- routes --------------------------------------------------------------------
    def _state(self, store: Store, annotator: str, focus: str | None = None) -> dict[str, Any]:
        return store.rater_state(annotator, self.server.sessions.get(annotator), focus)

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        if path in STATIC_FILES:
            self._send(HTTPStatus.OK, *STATIC_FILES[path])
        elif path == "/api/raters":
            with Store.open(self.server.store_path) as store:
                raters = store.people()  # model judges are never a person's rater
            self._json({"raters": raters, "dimensions": self.server.dimensions})
        elif path == "/api/state":
            annotator = (query.get("annotator") or [""])[0]
            with Store.open(self.server.store_path) as store:
                store.check_person(annotator)
                self._json(self._state(store, annotator))
        else:
            raise HttpError(HTTPStatus.NOT_FOUND, "not found")

    def _post(self, path: str, body: dict[str, str]) -> None:
        annotator, item_id = body["annotator"], body["item_id"]
        with Store.open(self.server.store_path) as store:
            store.check_person(annotator)  # a person never writes as a model judge
            if path == "/api/rate":
                store.rate(item_id, annotator, body["dimension"], body["value"], source="web")
                if len(store.current(item_id, annotator)) == len(store.dimensions):
                    self.server.sessions.unskip(annotator, item_id)
                # Stay on a half-judged item even if it had been skipped.
                self._json(self._state(store, annotator, focus=item_id))
            elif path == "/api/undo":
                undone = store.undo(annotator)
                self._json(self._state(store, annotator, undone and undone.item_id))
            elif path == "/api/skip":
                store.check_item(item_id)
                self.server.sessions.skip(annotator, item_id)
                self._json(self._state(store, annotator))
            else:
                raise HttpError(HTTPStatus.NOT_FOUND, "not found")


def make_server(
    store_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    max_connections: int = MAX_CONNECTIONS,
    idle_timeout: float = IDLE_TIMEOUT,
    request_deadline: float = REQUEST_DEADLINE,
) -> AnnotationServer:
    """A ready server (port 0 picks a free one; see ``server.url``). Call
    ``serve_forever()`` to run it, ``shutdown()`` from another thread to stop it.
    ``host`` may be an IPv6 literal (``::1``)."""
    return AnnotationServer(
        (host, port),
        Path(store_path),
        max_connections=max_connections,
        idle_timeout=idle_timeout,
        request_deadline=request_deadline,
    )
