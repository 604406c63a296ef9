"""Security headers on every response, a cap on request bodies, and a last-resort 500.

Pure ASGI (no BaseHTTPMiddleware) so it adds nothing to the per-request cost that matters.
"""

from __future__ import annotations

import logging
import secrets

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gradstage.api.errors import error_response

log = logging.getLogger("gradstage")

# No 'unsafe-inline' anywhere: the page's boot data is a <script type="application/json">,
# which is data, not script. Workers may come from blob: (the layout worker). The code editor
# (CodeMirror) writes its own <style> element: it carries this response's nonce.
_BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def is_embed(path: str) -> bool:
    """The embed routes, the only ones other sites may frame."""
    return path == "/embed" or path.startswith("/embed/")


def csp_for(path: str, frame_ancestors: str, nonce: str = "") -> str:
    """The Content-Security-Policy: no inline script anywhere; only /embed may be framed."""
    ancestors = frame_ancestors if is_embed(path) else "'none'"
    return f"{_BASE_CSP.format(nonce=nonce or new_nonce())}; frame-ancestors {ancestors}"


def new_nonce() -> str:
    """A fresh CSP nonce (one per response; pages read it from ``request.state.csp_nonce``)."""
    return secrets.token_urlsafe(16)


class BodyTooLarge(HTTPException):
    """A request body over the cap (FastAPI re-raises HTTPExceptions from body reading)."""

    def __init__(self, max_body: int) -> None:
        super().__init__(413, f"the request body is larger than {max_body} bytes")


class SecurityHeaders:
    """Adds CSP, nosniff, referrer policy and framing rules; refuses oversized bodies (413)."""

    def __init__(self, app: ASGIApp, frame_ancestors: str, max_body: int) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        nonce = new_nonce()
        scope.setdefault("state", {})["csp_nonce"] = nonce
        headers = [
            (b"content-security-policy", csp_for(path, self.frame_ancestors, nonce).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if not is_embed(path):
            headers.append((b"x-frame-options", b"DENY"))
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers", [])) + headers
            await send(message)

        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            too_large = BodyTooLarge(self.max_body)
            await error_response(413, str(too_large.detail))(scope, receive, send_with_headers)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception as exc:
            if started:
                raise
            if isinstance(exc, HTTPException):  # raised outside a route (no handler ran)
                response = error_response(exc.status_code, str(exc.detail), headers=exc.headers)
            else:
                log.exception("unhandled error on %s %s", scope["method"], path)
                response = error_response(500, "internal error")
            await response(scope, receive, send_with_headers)
