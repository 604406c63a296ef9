"""Security headers on every response, and a cap on request bodies."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gradstage.api.errors import error_response

# Inline *styles* are allowed: the code editor (CodeMirror) injects its own style sheet at run
# time. Inline *script* is not: every script is a file served from /static.
_BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def csp_for(path: str, frame_ancestors: str) -> str:
    """The Content-Security-Policy: no inline script anywhere; only /embed may be framed."""
    ancestors = frame_ancestors if path.startswith("/embed") else "'none'"
    return f"{_BASE_CSP}; frame-ancestors {ancestors}"


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
        headers = [
            (b"content-security-policy", csp_for(path, self.frame_ancestors).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if not path.startswith("/embed"):
            headers.append((b"x-frame-options", b"DENY"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + headers
            await send(message)

        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            response = error_response(413, f"the request body is larger than {self.max_body} bytes")
            await response(scope, receive, send_with_headers)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            response = error_response(413, f"the request body is larger than {self.max_body} bytes")
            await response(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass
