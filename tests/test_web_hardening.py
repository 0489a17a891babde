"""The rating page against other sites and hostile clients, over raw sockets: request
smuggling, DNS rebinding, cross-origin writes, slow and lying clients, too many
connections, hostile JSON, and the `serve` command's address checks."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from annotation_helpers import ANSWERS_A, ANSWERS_B, dump, new_store

from logic_claims.annotations.web import MAX_BODY, AnnotationServer, make_server

REPO = Path(__file__).resolve().parents[1]
Response = tuple[int, dict[str, str], bytes]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return new_store(tmp_path, {"A": ANSWERS_A, "B": ANSWERS_B})


@pytest.fixture
def serve(store: Path) -> Iterator[Callable[..., AnnotationServer]]:
    """Start servers on ``store`` (with optional limits); all are stopped afterwards."""
    running: list[tuple[AnnotationServer, threading.Thread]] = []

    def start(**limits: Any) -> AnnotationServer:
        server = make_server(store, port=0, **limits)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join()


def connect(server: AnnotationServer) -> socket.socket:
    return socket.create_connection(server.server_address[:2], timeout=20)


def exchange(server: AnnotationServer, data: bytes) -> list[Response]:
    """Send raw bytes, read until the server closes, parse every response it sent."""
    with connect(server) as sock:
        sock.sendall(data)
        return parse_responses(read_all(sock))


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_responses(raw: bytes) -> list[Response]:
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        length = int(headers.get("content-length", "0"))
        out.append((int(lines[0].split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return out


def http(
    method: str,
    path: str,
    host: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    framing: bytes | None = None,
) -> bytes:
    """One raw HTTP/1.1 request; ``framing`` replaces the Content-Length line."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head = "\r\n".join(lines).encode() + b"\r\n"
    head += framing if framing is not None else f"Content-Length: {len(body)}\r\n".encode()
    return head + b"\r\n" + body


def host_of(server: AnnotationServer) -> str:
    return f"127.0.0.1:{server.server_address[1]}"


def first_item(store: Path, annotator: str = "ann") -> str:
    from logic_claims.annotations.store import Store

    with Store.open(store) as s:
        return s.queue(annotator)[0]


def rate_request(server: AnnotationServer, store: Path, **extra_headers: str) -> bytes:
    """A well-formed rating POST, as the page sends it (closing the connection after)."""
    body = json.dumps(
        {"annotator": "ann", "item_id": first_item(store), "dimension": "factual", "value": "1"}
    ).encode()
    headers = {"Content-Type": "application/json", "Connection": "close", **extra_headers}
    return http("POST", "/api/rate", host_of(server), body, headers)


# -- request smuggling -------------------------------------------------------------------

SMUGGLERS = {
    # a cross-site no-cors fetch can send exactly this: text/plain, any body
    "text/plain body (415)": lambda inner: ({"Content-Type": "text/plain"}, inner, None),
    "declared too large (413)": lambda inner: (
        {"Content-Type": "application/json"},
        inner,
        f"Content-Length: {MAX_BODY + 1}\r\n".encode(),
    ),
    "chunked": lambda inner: (
        {"Content-Type": "application/json"},
        f"{len(inner):x}\r\n".encode() + inner + b"\r\n0\r\n\r\n",
        b"Transfer-Encoding: chunked\r\n",
    ),
    "two Content-Lengths": lambda inner: (
        {"Content-Type": "application/json"},
        inner,
        f"Content-Length: 0\r\nContent-Length: {len(inner)}\r\n".encode(),
    ),
    "Content-Length not digits": lambda inner: (
        {"Content-Type": "application/json"},
        inner,
        b"Content-Length: +0\r\n",
    ),
    "header name with a space": lambda inner: (
        {"Content-Type": "application/json"},
        inner,
        f"Content-Length : {len(inner)}\r\n".encode(),
    ),
}


@pytest.mark.parametrize("case", list(SMUGGLERS))
def test_a_refused_request_never_lets_its_body_through_as_a_request(
    serve: Callable[..., AnnotationServer], store: Path, case: str
) -> None:
    server = serve()
    before = dump(store)
    headers, body, framing = SMUGGLERS[case](rate_request(server, store))
    replies = exchange(server, http("POST", "/api/rate", host_of(server), body, headers, framing))
    assert len(replies) == 1, [r[:1] for r in replies]  # the inner rating was never read
    status, reply_headers, payload = replies[0]
    assert status in (400, 413, 415) and reply_headers["connection"] == "close"
    assert "error" in json.loads(payload)
    assert dump(store) == before


def test_a_get_body_is_read_and_dropped_not_parsed_as_the_next_request(
    serve: Callable[..., AnnotationServer], store: Path
) -> None:
    server = serve()
    before = dump(store)
    smuggled = rate_request(server, store)
    first = http("GET", "/api/raters", host_of(server), smuggled)
    last = http("GET", "/app.css", host_of(server), headers={"Connection": "close"})
    replies = exchange(server, first + last)
    assert [(status, h["content-type"].split(";")[0]) for status, h, _ in replies] == [
        (200, "application/json"),
        (200, "text/css"),
    ]
    assert dump(store) == before


# -- DNS rebinding and other sites ---------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost.evil:{port}", ""]
)
def test_a_host_that_is_not_this_server_can_neither_read_nor_write(
    serve: Callable[..., AnnotationServer], store: Path, host: str
) -> None:
    server = serve()
    before = dump(store)
    host = host.format(port=server.server_address[1])
    read = http("GET", "/api/state?annotator=ann", host, headers={"Connection": "close"})
    write = rate_request(server, store).replace(host_of(server).encode(), host.encode(), 1)
    for request in (read, write):
        [(status, headers, payload)] = exchange(server, request)
        assert (status, headers["connection"]) == (421, "close")
        assert b"owls" not in payload and "unknown Host" in json.loads(payload)["error"]
    assert dump(store) == before


def test_the_names_of_a_loopback_server_are_accepted(
    serve: Callable[..., AnnotationServer],
) -> None:
    server = serve()
    port = server.server_address[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        request = http("GET", "/api/raters", host, headers={"Connection": "close"})
        assert exchange(server, request)[0][0] == 200, host


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://127.0.0.1:1"},
        {"Origin": "https://127.0.0.1:{port}"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_write_from_another_origin_is_refused(
    serve: Callable[..., AnnotationServer], store: Path, headers: dict[str, str]
) -> None:
    server = serve()
    before = dump(store)
    headers = {k: v.format(port=server.server_address[1]) for k, v in headers.items()}
    [(status, reply_headers, _)] = exchange(server, rate_request(server, store, **headers))
    assert (status, reply_headers["connection"]) == (403, "close")
    assert dump(store) == before


def test_a_write_from_the_page_itself_is_accepted(
    serve: Callable[..., AnnotationServer], store: Path
) -> None:
    server = serve()
    origin = f"http://localhost:{server.server_address[1]}"
    request = rate_request(server, store, Origin=origin, **{"Sec-Fetch-Site": "same-origin"})
    [(status, _, payload)] = exchange(server, request)
    assert status == 200 and json.loads(payload)["pending"] == ["justified"]


# -- slow, lying and too many clients -------------------------------------------------------


def test_a_body_shorter_than_its_content_length_times_out(
    serve: Callable[..., AnnotationServer], store: Path
) -> None:
    server = serve(idle_timeout=0.2, request_deadline=5)
    before = dump(store)
    request = rate_request(server, store)
    head, _, body = request.partition(b"\r\n\r\n")
    with connect(server) as sock:
        sock.sendall(head + b"\r\n\r\n" + body[:10])  # and nothing more
        [(status, headers, _)] = parse_responses(read_all(sock))
    assert (status, headers["connection"]) == (408, "close")
    assert dump(store) == before


def test_a_client_trickling_bytes_is_cut_off_at_the_request_deadline(
    serve: Callable[..., AnnotationServer],
) -> None:
    server = serve(idle_timeout=5, request_deadline=0.3)
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
        for _ in range(400):  # never ends a header line; one byte every 50 ms
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                break
            try:
                sock.sendall(b"a")
            except OSError:
                break
        else:
            pytest.fail("the server kept reading a request for 20 seconds")
        assert sock.recv(65536) == b""  # closed without an answer


def test_an_idle_connection_is_closed(serve: Callable[..., AnnotationServer]) -> None:
    server = serve(idle_timeout=0.2)
    with connect(server) as sock:
        assert read_all(sock) == b""


def test_connections_beyond_the_bound_get_503_and_the_slot_comes_back(
    serve: Callable[..., AnnotationServer],
) -> None:
    server = serve(max_connections=2)
    raters = http("GET", "/api/raters", host_of(server), headers={"Connection": "close"})
    with connect(server) as a, connect(server) as b:  # accepted in order: both slots taken
        with connect(server) as c:
            [(status, headers, payload)] = parse_responses(read_all(c))
            assert (status, headers["connection"]) == (503, "close")
            assert "too many connections" in json.loads(payload)["error"]
        a.sendall(raters)
        assert parse_responses(read_all(a))[0][0] == 200  # a's slot is free once it closed
        assert exchange(server, raters)[0][0] == 200
        b.sendall(raters)
        assert parse_responses(read_all(b))[0][0] == 200


# -- hostile JSON -------------------------------------------------------------------------


def good_body(store: Path) -> dict[str, Any]:
    return {"annotator": "ann", "item_id": first_item(store), "dimension": "factual", "value": "1"}


HOSTILE: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "5000-digit integer": lambda ok: json.dumps(ok)[:-1].encode() + b', "n": ' + b"9" * 5000 + b"}",
    "30,000 nested arrays": lambda ok: b"[" * 30000 + b"]" * 30000,
    "nested in a field": lambda ok: (
        json.dumps({**ok, "x": 1})[:-1].encode() + b', "y": ' + b"[" * 30000 + b"]" * 30000 + b"}"
    ),
    "lone surrogate item_id": lambda ok: json.dumps({**ok, "item_id": "\ud800"}).encode(),
    "lone surrogate annotator": lambda ok: json.dumps({**ok, "annotator": "a\udfffb"}).encode(),
    "annotator a list": lambda ok: json.dumps({**ok, "annotator": ["ann"]}).encode(),
    "item_id a number": lambda ok: json.dumps({**ok, "item_id": 7}).encode(),
    "value an object": lambda ok: json.dumps({**ok, "value": {"v": "1"}}).encode(),
    "value true": lambda ok: json.dumps({**ok, "value": True}).encode(),
    "value a float": lambda ok: json.dumps({**ok, "value": 1.0}).encode(),
    "dimension NaN": lambda ok: json.dumps({**ok, "dimension": float("nan")}).encode(),
    "not UTF-8": lambda ok: b'{"annotator": "\xff"}',
}


@pytest.mark.parametrize("path", ["/api/rate", "/api/skip"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_json_is_a_400_not_a_traceback(
    serve: Callable[..., AnnotationServer],
    store: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    path: str,
) -> None:
    server = serve()
    before = dump(store)
    body = HOSTILE[case](good_body(store))
    headers = {"Content-Type": "application/json", "Connection": "close"}
    [(status, _, payload)] = exchange(server, http("POST", path, host_of(server), body, headers))
    assert status == 400 and json.loads(payload)["error"]
    assert dump(store) == before
    assert "Traceback" not in capsys.readouterr().err


def test_a_label_sent_as_a_json_integer_still_counts(
    serve: Callable[..., AnnotationServer], store: Path
) -> None:
    server = serve()
    body = json.dumps({**good_body(store), "value": 1}).encode()
    headers = {"Content-Type": "application/json", "Connection": "close"}
    [(status, _, payload)] = exchange(
        server, http("POST", "/api/rate", host_of(server), body, headers)
    )
    assert status == 200 and json.loads(payload)["given"] == {"factual": "1"}


# -- the serve command ----------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logic_claims.harness.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_out_of_range(store: Path, port: str) -> None:
    result = run_cli("annotate", "serve", "--store", str(store), "--port", port)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "port must be 0 to 65535" in result.stderr.splitlines()[-1]


def test_serve_on_a_port_in_use_is_one_line(store: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_cli("annotate", "serve", "--store", str(store), "--port", port)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"logic-claims: error: cannot listen on '127.0.0.1' port {port} (Address already in use)"
    ]


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not has_ipv6_loopback(), reason="the kernel has no IPv6 loopback")
def test_serve_binds_to_ipv6_loopback(store: Path) -> None:
    argv = ["annotate", "serve", "--store", str(store), "--host", "::1", "--port", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "logic_claims.harness.cli", *argv]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"serving {store} at http://[::1]:"), (line, proc.stderr)
        port = int(line.split("]:")[1].split("/")[0])
        with socket.create_connection(("::1", port), timeout=20) as sock:
            sock.sendall(
                http("GET", "/api/raters", f"[::1]:{port}", headers={"Connection": "close"})
            )
            [(status, _, payload)] = parse_responses(read_all(sock))
        assert status == 200 and json.loads(payload)["raters"] == ["ann", "bob", "cem"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped" in out and err == ""
