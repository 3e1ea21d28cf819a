"""The workspace's front door: who may ask, what a request may carry, and the headers every answer gets.

An ASGI middleware (`Guard`) in front of the whole app:

- Host: on a loopback address only the loopback names (127.0.0.1, localhost, [::1]) are
  answered, so a web page elsewhere cannot reach the workspace through a DNS name that
  points at 127.0.0.1 (DNS rebinding).
- Token: when the workspace has one (always on a host other than loopback), every request
  needs it as `Authorization: Bearer TOKEN` or the cookie the page gets when opened with
  `?token=TOKEN` (the URL `planner serve` prints). Compared in constant time.
- A request that changes something (every POST) must be JSON (`Content-Type:
  application/json`) and come from the workspace's own origin: an `Origin` header, when
  the client sends one, names this scheme and host; `Sec-Fetch-Site`, when sent, says
  same-origin. A browser sends both; a script or curl sends neither and needs the token.
- A request body is at most `max_body` bytes (413), read before the app sees it.
- Every answer says: no caching, no sniffing, no framing, no referrer, and a Content
  Security Policy that lets the page run its own script and nothing else.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
COOKIE = "planner_token"
MAX_BODY = 64 * 1024
SAFE_METHODS = ("GET", "HEAD")
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                 b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.startswith("127.")


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Guard:
    """The checks above, in front of `app`. `loopback_only`: answer only loopback Host names."""

    def __init__(self, app: Callable, token: str | None, loopback_only: bool, max_body: int = MAX_BODY):
        self.app = app
        self.token = token
        self.loopback_only = loopback_only
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        send = _with_headers(send)
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            await _json(send, *refusal)
            return
        if scope["method"] not in SAFE_METHODS:
            body = await _read_body(receive, headers, self.max_body)
            if body is None:
                await _json(send, 413, f"the request is larger than {self.max_body} bytes")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        """(status, message) when the request may not go in; None when it may."""
        host = headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if self.loopback_only and not is_loopback(name):
            return 421, f"this workspace answers on 127.0.0.1 or localhost only, not {host!r}"
        if self.token is not None and not self.has_token(scope, headers):
            return 401, "this workspace needs its token: open the URL planner serve printed, or send Authorization: Bearer TOKEN"
        if scope["method"] in SAFE_METHODS:
            return None
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return 415, "send the what-if as JSON (Content-Type: application/json)"
        origin = headers.get("origin")
        if origin is not None and origin != f"{scope.get('scheme', 'http')}://{host}":
            return 403, f"a request from {origin!r} may not change this workspace (same origin only)"
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, "a request from another site may not change this workspace (same origin only)"
        return None

    def has_token(self, scope: Scope, headers: dict[str, str]) -> bool:
        offered = []
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            offered.append(authorization[7:].strip())
        if "cookie" in headers:
            cookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # a malformed cookie header offers no token
                pass
            if COOKIE in cookie:
                offered.append(cookie[COOKIE].value)
        if scope["method"] == "GET" and scope["path"] == "/":
            offered += query_values(scope, "token")  # the printed URL; the page swaps it for the cookie
        return any(secrets.compare_digest(value.encode(), self.token.encode()) for value in offered)


def query_values(scope: Scope, name: str) -> list[str]:
    from urllib.parse import parse_qs

    return parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name, [])


def _with_headers(send: Send) -> Send:
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in SECURITY_HEADERS if k not in present]
        await send(message)

    return sending


async def _json(send: Send, status: int, message: str) -> None:
    body = json.dumps({"errors": [{"where": "request", "key": None, "message": message}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes | None:
    """The whole body, or None when it is (or says it is) larger than `limit`."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """The body read already, then whatever the client does next (a disconnect)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
