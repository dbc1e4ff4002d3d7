"""Addresses the app has no route for: the site's 404 page, or the API's envelope.

On AWS, CloudFront's default behaviour is an origin group: the bucket first,
and on its 403/404 the API's origin. So a missing page reaches the function,
which answers with the site's own 404 page (the same `NotFoundPage` the
build writes to `/404.html`); an unknown `/api/...` address keeps the JSON
error envelope.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import urls
from .errors import error_response

if TYPE_CHECKING:
    from ..sitegen.render import Renderer

NOT_FOUND_CACHE = "public, max-age=60"


def is_api_path(path: str) -> bool:
    return path == urls.API or path.startswith(urls.API + "/")


class MissingPage:
    """The ASGI app mounted last, at `/`: answers every address no route took."""

    def __init__(self, renderer: Renderer):
        self.renderer = renderer

    @cache  # noqa: B019 - one MissingPage per app, for the process's life
    def page(self, lang: str) -> bytes:
        """The 404 page in `lang`, rendered once (it depends on no data)."""
        from ..sitegen.pages import NotFoundPage

        output = self.renderer.render(NotFoundPage(), None, lang)  # type: ignore[arg-type]
        assert output is not None and output.body is not None
        return output.body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and not is_api_path(path):
            # In the language of the address: /es/... is a Spanish page.
            lang, _ = urls.split_language(path, self.renderer.languages)
            response = Response(
                self.page(lang),
                status_code=404,
                media_type="text/html; charset=utf-8",
                headers={"Cache-Control": NOT_FOUND_CACHE},
            )
        else:
            response = error_response(404, "There is no such API endpoint.")
        await response(scope, receive, send)
