"""The local stack: one process serving the built `site/` and `/api` on one origin.

Writes re-render the pages they touch before the API answers (synchronously,
in the request's worker thread): a user who posts and then opens their
profile always sees the post, and a local machine has no queue to run it on.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from .api.errors import error_response
from .api.missing import is_api_path
from .config import Settings
from .wiring import create_api, local_builder, open_store


class SiteFiles:
    """The built site, except that an unknown `/api/...` address gets the
    JSON error envelope instead of the HTML 404 page."""

    def __init__(self, directory):
        self.files = StaticFiles(directory=directory, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope.get("path", "")):
            response = error_response(404, "There is no such API endpoint.")
            await response(scope, receive, send)
            return
        await self.files(scope, receive, send)


def create_local_app(settings: Settings, build: bool = True) -> FastAPI:
    """The whole local stack; with `build`, the site is fully built first."""
    store = open_store(settings, create=True)
    builder = local_builder(settings, store)
    if build:
        builder.build_all()
    app = create_api(settings, store, builder.renderer, on_change=builder.apply)
    app.state.builder = builder
    app.mount("/", SiteFiles(settings.site_dir), name="site")
    return app
