"""The annotation server's HTTP hardening: how a request is framed, read and parsed, and
which host names are its own (see the Safety notes in ``web.py``).

Every check raises ``HttpError`` (a status and a one-line reason); the handler answers
it as JSON and closes the connection, so nothing left of a refused request is ever read
as another one.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import socket
import time
from collections.abc import Callable
from email.message import Message
from http import HTTPStatus
from typing import IO, Any

from logic_claims.tasks.errors import clip

MAX_BODY = 64 * 1024  # bytes of a request body; a longer one is refused (413)

# -- host names ------------------------------------------------------------------------


def bind_host(host: str) -> str:
    """``[::1]`` -> ``::1``: the address as the socket layer takes it."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def address_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address, or None when it is a name."""
    try:
        return ipaddress.ip_address(bind_host(host))
    except ValueError:
        return None


def url_host(host: str) -> str:
    """A host as it appears in a URL or a Host header (IPv6 literals in brackets)."""
    address = address_literal(host)
    if address is None:
        return host.lower()
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?", re.ASCII)


def parse_host(value: str) -> tuple[str, int] | None:
    """A Host header (or an Origin's authority) as (normalised name, port), or None."""
    match = HOST_HEADER.fullmatch(value.strip())
    if match is None or (match[1].startswith("[") and address_literal(match[1]) is None):
        return None
    return url_host(match[1]), int(match[2] or 80)


# -- requests ----------------------------------------------------------------------------


class DeadlineReader(io.RawIOBase):
    """The socket's read side with a per-read timeout and a deadline for a whole request,
    so a client that trickles bytes or lies about its Content-Length cannot hold a thread."""

    def __init__(self, sock: socket.socket, idle: float):
        self.sock = sock
        self.idle = idle
        self.deadline = float("inf")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request took too long")
        self.sock.settimeout(min(self.idle, left))
        return self.sock.recv_into(buffer)


class HttpError(Exception):
    """A refused request: its status and the one-line reason sent back as JSON."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", re.ASCII)  # RFC 9110 header names
FIELDS = ("annotator", "item_id", "dimension", "value")


def body_field(body: dict[str, Any], name: str) -> str:
    """A string field of a POST body ("" when absent); ``value`` may be a JSON integer."""
    value = body.get(name)
    if value is None:
        return ""
    if name == "value" and type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        raise HttpError(HTTPStatus.BAD_REQUEST, f"{name} must be a string, not {clip(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"{name} is not valid Unicode text") from exc
    return value


def check_origin(headers: Message, host_allowed: Callable[[str], bool]) -> None:
    """Writes from this page only: browsers name the page's origin on every POST."""
    origin = headers.get("Origin")
    if origin is not None:
        scheme, _, authority = origin.partition("://")
        if scheme.lower() != "http" or not host_allowed(authority):
            raise HttpError(HTTPStatus.FORBIDDEN, "cross-origin request refused")
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site.strip().lower() not in ("same-origin", "none"):
        raise HttpError(HTTPStatus.FORBIDDEN, "cross-site request refused")


def read_body(headers: Message, rfile: IO[bytes]) -> bytes:
    """The body, framed by one plain Content-Length; anything ambiguous is refused."""
    bad_names = [k for k in headers if not TOKEN.fullmatch(k)]
    if bad_names:
        raise HttpError(HTTPStatus.BAD_REQUEST, f"bad header name {clip(bad_names[0])}")
    if headers.get_all("Transfer-Encoding"):
        raise HttpError(HTTPStatus.BAD_REQUEST, "Transfer-Encoding is not supported")
    lengths = headers.get_all("Content-Length") or ["0"]
    if len(lengths) != 1 or not re.fullmatch(r"[0-9]{1,10}", lengths[0].strip(), re.ASCII):
        raise HttpError(HTTPStatus.BAD_REQUEST, "bad Content-Length")
    length = int(lengths[0])
    if length > MAX_BODY:
        raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
    try:
        data = rfile.read(length)
    except TimeoutError as exc:
        raise HttpError(HTTPStatus.REQUEST_TIMEOUT, "request body too slow") from exc
    if len(data) != length:
        raise HttpError(HTTPStatus.BAD_REQUEST, "body shorter than its Content-Length")
    return data


def parse_body(headers: Message, data: bytes) -> dict[str, str]:
    """A POST's JSON object as its string FIELDS; anything else is a 4xx HttpError."""
    ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "POST application/json only")
    try:
        body = json.loads(data or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST, "body is not JSON") from exc
    except ValueError as exc:  # Python's limit on the digits of an integer
        raise HttpError(HTTPStatus.BAD_REQUEST, "body holds a number too long") from exc
    except RecursionError as exc:
        raise HttpError(HTTPStatus.BAD_REQUEST, "body is nested too deeply") from exc
    if not isinstance(body, dict):
        raise HttpError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    return {name: body_field(body, name) for name in FIELDS}
