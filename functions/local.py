"""The local stack: one process serving the built `site/` and `/api` on one origin.

Writes re-render the pages they touch before the API answers (synchronously,
in the request's worker thread): a user who posts and then opens their
profile always sees the post, and a local machine has no queue to run it on.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api.errors import error_response
from .api.missing import is_api_path
from .config import Settings
from .i18n import (
    DEFAULT_LANGUAGE,
    LANG_COOKIE,
    LANG_COOKIE_MAX_AGE,
    LANGUAGES,
    redirect_for,
    switch_for,
)
from .security_headers import HEADERS
from .timelines import Fanout
from .urls import NOT_FOUND, split_language
from .urls import localized as localized_url
from .wiring import create_api, local_builder, open_store


class WholeFiles(StaticFiles):
    """StaticFiles that reads each file whole from one open file. The site
    build replaces pages while they are served; Starlette's FileResponse
    takes the length from one `stat` and the bytes from a later `open`, so a
    page replaced in between went out torn (a Content-Length that the body
    did not match: under load, one page view in a few hundred failed)."""

    def file_response(
        self, full_path, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        with open(full_path, "rb") as file:
            stat_result = os.fstat(file.fileno())  # the length of these very bytes
            body = file.read()
        described = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        if self.is_not_modified(described.headers, Headers(scope=scope)):
            return NotModifiedResponse(described.headers)
        validators = {name: described.headers[name] for name in ("etag", "last-modified")}
        return Response(body, status_code, validators, media_type=described.media_type)

    async def get_response(self, path: str, scope: Scope) -> Response:
        """As StaticFiles, but a missing page under a language's prefix
        (`/es/...`) gets that language's 404 page, as the API's MissingPage
        answers on AWS."""
        response = await super().get_response(path, scope)
        lang, _ = split_language(scope.get("path", ""), LANGUAGES)
        if response.status_code != 404 or lang == DEFAULT_LANGUAGE:
            return response
        localized = localized_url(NOT_FOUND, lang).lstrip("/")
        full_path, stat_result = self.lookup_path(localized)
        if stat_result is None:
            return response
        return self.file_response(full_path, stat_result, scope, status_code=404)


class SiteFiles:
    """The built site, except that an unknown `/api/...` address gets the
    JSON error envelope instead of the HTML 404 page, and a page asked for
    in another language than the reader's redirects to theirs (as the
    CloudFront Function does on AWS: `i18n.redirect_for`)."""

    def __init__(self, directory):
        self.files = WholeFiles(directory=directory, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope.get("path", "")):
            response = error_response(404, "There is no such API endpoint.")
            await response(scope, receive, send)
            return
        if scope["type"] == "http" and (response := language_redirect(scope)) is not None:
            await response(scope, receive, send)
            return
        await self.files(scope, receive, send)


def language_redirect(scope: Scope) -> Response | None:
    """A 302 to the page in the reader's language, or None. Per request and
    per reader, so never cached; the pages themselves are one per address."""
    if scope["method"] not in ("GET", "HEAD"):
        return None
    request = Request(scope)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != LANG_COOKIE]
    switched = switch_for(request.url.path, request.query_params.get(LANG_COOKIE))
    if switched is not None:  # the footer's switch, without JavaScript
        to = switched
    else:
        to = redirect_for(
            request.url.path,
            request.cookies.get(LANG_COOKIE),
            request.headers.get("accept-language"),
        )
    if to is None:
        return None
    query = urlencode(params) if switched is not None else request.url.query
    response = RedirectResponse(
        to + (f"?{query}" if query else ""),
        status_code=302,
        headers={"Cache-Control": "no-store", "Vary": "Cookie, Accept-Language"},
    )
    if switched is not None:
        lang = split_language(switched, LANGUAGES)[0]
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, samesite="lax")
    return response


class SecurityHeaders:
    """ASGI middleware: every response carries `security_headers.HEADERS`,
    replacing any the app set, as the CDN's response headers policy does
    (`Override: true`), so the site behaves the same locally and on AWS."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                kept = [(k, v) for k, v in headers if k.lower() not in self.names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RedactTokens(logging.Filter):
    """Blanks `token=...` in the addresses of uvicorn's access log. Reset
    links carry their token in the fragment, which browsers never send; this
    covers links mailed before that, and any other token in a query."""

    TOKEN = re.compile(r"(?<=[?&]token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.TOKEN.sub("[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def keep_tokens_out_of_logs() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())


def create_local_app(settings: Settings, build: bool = True) -> FastAPI:
    """The whole local stack; with `build`, the site is fully built first.
    Run data (`VAR_DIR`: database, key, outbox) is made owner-only."""
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    keep_tokens_out_of_logs()
    store = open_store(settings, create=True)
    builder = local_builder(settings, store)
    if build:
        builder.build_all()
    fanout = Fanout(store)  # home feeds: every step in-process (DynamoDB Local)

    def on_change(events: list) -> None:
        events = fanout.start(events)  # new posts numbered (DynamoDB), feeds filled
        builder.apply(events)

    app = create_api(settings, store, builder.renderer, on_change=on_change)
    app.state.builder = builder
    app.mount("/", SiteFiles(settings.site_dir), name="site")
    app.add_middleware(SecurityHeaders)
    return app
