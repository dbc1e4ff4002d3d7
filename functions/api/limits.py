"""The request body limit: a body larger than `MAX_BODY` is refused (413)
before anything parses it.

The largest body the API takes is a translation (5,000 characters, each at
most 6 bytes as a JSON `\\uXXXX` escape): 64 KiB leaves room for that and
nothing more. The body is read here (at most `MAX_BODY` bytes of it) and
handed on whole, so a chunked upload without `Content-Length` is bounded too.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

MAX_BODY = 64 * 1024
TOO_LARGE = f"The request body is larger than {MAX_BODY // 1024} KiB."


class BodyLimit:
    """ASGI middleware: 413 (the error envelope) for an oversized body."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            await error_response(413, TOO_LARGE)(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await error_response(413, TOO_LARGE)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": bytes(body), "more_body": False}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return whole
            return await receive()  # after the body: wait for a disconnect

        await self.app(scope, replay, send)
