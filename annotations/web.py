"""``logic-claims annotate serve``: a local web page to judge items, one at a time.

Standard library only (``http.server.ThreadingHTTPServer``). Bound to 127.0.0.1 unless
told otherwise: the page has no login, a rater names themself in the URL
(``/?annotator=alice``), so never expose it beyond a network you trust.

Safety
- Model text is data, never markup: the page builds its DOM with ``textContent`` only,
  and a Content-Security-Policy forbids inline scripts, so an answer holding
  ``<script>`` is shown as those characters.
- POSTs must be ``application/json`` (a cross-site form cannot send that without a CORS
  preflight, which this server never grants).
- Every request opens its own SQLite connection; every judgment is its own
  ``BEGIN IMMEDIATE`` transaction naming its item, rater and dimension explicitly, so
  concurrent raters can neither lose nor cross writes.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from logic_claims.annotations.store import ConflictError, Store
from logic_claims.harness.errors import InputError

MAX_BODY = 64 * 1024

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>logic-claims: judge explanations</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>Judge explanations</h1>
  <div id="who">Rating as <b id="rater">?</b> (<a href="/" id="switch">switch</a>)</div>
  <div id="progress-line"><progress id="bar" value="0" max="1"></progress>
    <span id="progress">0/0</span></div>
</header>
<main>
  <section id="choose" hidden>
    <p>Who is rating? Pick your name (it stays in the address, so a reload resumes).</p>
    <ul id="raters"></ul>
  </section>
  <section id="rate" hidden>
    <h2>Claim</h2>
    <p id="claim" class="text"></p>
    <h2>The model's answer</h2>
    <p id="answer" class="text"></p>
    <div id="questions"></div>
    <p class="help">Keys: the label keys answer the highlighted question;
      <kbd>u</kbd> undo the last judgment, <kbd>s</kbd> skip this item for now.</p>
    <p><button id="undo" type="button">Undo (u)</button>
       <button id="skip" type="button">Skip (s)</button></p>
  </section>
  <section id="finished" hidden><p>All your items are judged. Thank you!</p></section>
  <p id="message" role="status"></p>
</main>
</body>
</html>
"""

CSS = """
body { font: 16px/1.45 system-ui, sans-serif; max-width: 54rem; margin: 1rem auto;
       padding: 0 1rem; color: #222; }
header { border-bottom: 1px solid #ccc; margin-bottom: 1rem; }
h1 { font-size: 1.3rem; margin: .3rem 0; }
h2 { font-size: 1rem; margin: 1rem 0 .2rem; color: #555; }
.text { white-space: pre-wrap; background: #f6f6f6; padding: .6rem .8rem;
        border-radius: 4px; }
#claim { font-weight: 600; }
.question { border: 1px solid #ddd; border-radius: 4px; padding: .5rem .8rem;
            margin: .6rem 0; }
.question.active { border-color: #2a6ebb; box-shadow: 0 0 0 2px #cfe0f5; }
.question .definition { color: #555; font-size: .92rem; }
.question button { margin-right: .4rem; }
.question .given { font-weight: 700; color: #2a6ebb; }
#message { color: #a33; min-height: 1.4em; }
progress { width: 16rem; vertical-align: middle; }
kbd { border: 1px solid #aaa; border-radius: 3px; padding: 0 .3rem; }
"""

SCRIPT = r"""
"use strict";
let state = null;
let dims = [];
const rater = new URLSearchParams(location.search).get("annotator");

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;  // never innerHTML: model text is data
  if (cls) node.className = cls;
  return node;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)};
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(text) { document.getElementById("message").textContent = text || ""; }

function keysOf(dim) { return dim.keys; }

function render() {
  document.getElementById("rater").textContent = state.annotator;
  const p = state.progress;
  document.getElementById("progress").textContent = p.done + "/" + p.total + " done";
  const bar = document.getElementById("bar");
  bar.max = Math.max(p.total, 1); bar.value = p.done;
  document.body.dataset.done = String(p.done);
  if (!state.item) {
    document.getElementById("rate").hidden = true;
    document.getElementById("finished").hidden = false;
    return;
  }
  document.getElementById("finished").hidden = true;
  document.getElementById("rate").hidden = false;
  document.getElementById("rate").dataset.itemId = state.item.item_id;
  document.getElementById("claim").textContent = state.item.claim;
  document.getElementById("answer").textContent = state.item.answer;
  const box = document.getElementById("questions");
  box.replaceChildren();
  const active = state.pending[0];
  for (const dim of dims) {
    const q = el("div", undefined, "question" + (dim.name === active ? " active" : ""));
    q.dataset.dimension = dim.name;
    q.append(el("div", dim.question), el("div", dim.definition, "definition"));
    const row = el("div");
    if (dim.name in state.given) {
      row.append(el("span", "answered: " + state.given[dim.name], "given"));
    } else {
      for (const [key, label] of Object.entries(keysOf(dim))) {
        if (dim.hide_keys.includes(key)) continue;
        const b = el("button", label + " (" + key + ")");
        b.type = "button";
        b.addEventListener("click", () => rate(dim.name, label));
        row.append(b);
      }
    }
    q.append(row);
    box.append(q);
  }
}

async function rate(dimension, value) {
  try {
    const data = await api("/api/rate", {annotator: rater, item_id: state.item.item_id,
                                         dimension: dimension, value: value});
    state = data; say(""); render();
  } catch (e) { say(e.message); }
}

async function command(name) {
  const body = {annotator: rater};
  if (state.item) body.item_id = state.item.item_id;
  try { state = await api("/api/" + name, body); say(""); render(); }
  catch (e) { say(e.message); }
}

document.addEventListener("keydown", (event) => {
  if (!state || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "u") { command("undo"); return; }
  if (!state.item) return;
  if (event.key === "s") { command("skip"); return; }
  const dim = dims.find((d) => d.name === state.pending[0]);
  if (dim && event.key in dim.keys) rate(dim.name, dim.keys[event.key]);
});

async function start() {
  const info = await api("/api/raters");
  dims = info.dimensions;
  if (!rater || !info.raters.includes(rater)) {
    if (rater) say("unknown rater: " + rater);
    document.getElementById("who").hidden = true;
    const list = document.getElementById("raters");
    for (const name of info.raters) {
      const a = el("a", name);
      a.href = "/?annotator=" + encodeURIComponent(name);
      const li = el("li"); li.append(a); list.append(li);
    }
    document.getElementById("choose").hidden = false;
    return;
  }
  document.getElementById("undo").addEventListener("click", () => command("undo"));
  document.getElementById("skip").addEventListener("click", () => command("skip"));
  state = await api("/api/state?annotator=" + encodeURIComponent(rater));
  render();
  document.body.dataset.ready = "1";
}

start().catch((e) => say(e.message));
"""

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

    def __init__(self, address: tuple[str, int], store_path: Path):
        self.store_path = Path(store_path)
        with Store.open(self.store_path) as store:  # fail now, not on the first request
            self.dimensions = [
                {
                    **d.to_json(),
                    "keys": d.key_map(),
                    # n/y duplicate 0/1 as keys; show one button per label
                    "hide_keys": [
                        k for k in d.key_map() if k in ("n", "y") and set(d.labels) == {"0", "1"}
                    ],
                }
                for d in store.dimensions
            ]
        self.sessions = RaterSessions()
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server: AnnotationServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: raters' keys are noise
        pass

    # -- plumbing ------------------------------------------------------------------
    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json; charset=utf-8")

    def _body(self) -> dict[str, Any]:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "POST application/json only")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, "bad Content-Length") from exc
        if length > MAX_BODY:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HttpError(HTTPStatus.BAD_REQUEST, "body is not JSON") from exc
        if not isinstance(body, dict):
            raise HttpError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return body

    def _handle(self, method: str) -> None:
        try:
            url = urllib.parse.urlsplit(self.path)
            if method == "GET":
                self._get(url.path, urllib.parse.parse_qs(url.query))
            else:
                self._post(url.path, self._body())
        except HttpError as exc:
            self._json({"error": str(exc)}, exc.status)
        except ConflictError as exc:
            self._json({"error": exc.problem}, HTTPStatus.CONFLICT)
        except InputError as exc:
            self._json({"error": exc.problem}, HTTPStatus.BAD_REQUEST)

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
        if path == "/":
            self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/app.js":
            self._send(HTTPStatus.OK, SCRIPT.encode(), "text/javascript; charset=utf-8")
        elif path == "/app.css":
            self._send(HTTPStatus.OK, CSS.encode(), "text/css; charset=utf-8")
        elif path == "/api/raters":
            with Store.open(self.server.store_path) as store:
                raters = store.annotators()
            self._json({"raters": raters, "dimensions": self.server.dimensions})
        elif path == "/api/state":
            annotator = (query.get("annotator") or [""])[0]
            with Store.open(self.server.store_path) as store:
                self._json(self._state(store, annotator))
        else:
            raise HttpError(HTTPStatus.NOT_FOUND, "not found")

    def _post(self, path: str, body: dict[str, Any]) -> None:
        annotator = str(body.get("annotator") or "")
        with Store.open(self.server.store_path) as store:
            store.check_annotator(annotator)
            if path == "/api/rate":
                item_id = str(body.get("item_id") or "")
                store.rate(
                    item_id,
                    annotator,
                    str(body.get("dimension") or ""),
                    str(body.get("value") if body.get("value") is not None else ""),
                    source="web",
                )
                if len(store.current(item_id, annotator)) == len(store.dimensions):
                    self.server.sessions.unskip(annotator, item_id)
                # Stay on a half-judged item even if it had been skipped.
                self._json(self._state(store, annotator, focus=item_id))
            elif path == "/api/undo":
                undone = store.undo(annotator)
                self._json(self._state(store, annotator, undone and undone.item_id))
            elif path == "/api/skip":
                item_id = str(body.get("item_id") or "")
                store.check_item(item_id)
                self.server.sessions.skip(annotator, item_id)
                self._json(self._state(store, annotator))
            else:
                raise HttpError(HTTPStatus.NOT_FOUND, "not found")


def make_server(
    store_path: str | Path, host: str = "127.0.0.1", port: int = 8765
) -> AnnotationServer:
    """A ready server (port 0 picks a free one; see ``server.url``). Call
    ``serve_forever()`` to run it, ``shutdown()`` from another thread to stop it."""
    return AnnotationServer((host, port), Path(store_path))
