"""The interactive API docs (`/api/docs`): Swagger UI served from its pinned
PyPI package (swagger-ui-bundle-v2), not a CDN, so they work offline.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an
inline script; the site's Content-Security-Policy (template.yaml) allows
neither, so this page has no inline code: its starter is a small script of
its own.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from .. import urls
from .errors import error_response

DOCS = f"{urls.API}/docs"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")
FAVICON = Path(__file__).resolve().parent.parent.parent / "templates" / "static" / "favicon.svg"
# The assets' names carry the package's version, so they may be cached long.
ASSET_CACHE = "public, max-age=31536000, immutable"

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} - Swagger UI</title>
  <link rel="icon" type="image/svg+xml" href="{docs}/favicon.svg">
  <link rel="stylesheet" href="{docs}/{version}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{docs}/{version}/swagger-ui-bundle.js"></script>
  <script src="{docs}/start.js"></script>
</body>
</html>
"""

START = """window.ui = SwaggerUIBundle({{
  url: "{openapi}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
}});
"""


def _assets_dir() -> Path:
    import swagger_ui_bundle  # imported on the first docs request, not at start-up

    return Path(str(swagger_ui_bundle.swagger_ui_path))


def _version() -> str:
    return _assets_dir().name.removeprefix("swagger-ui-")


def router(title: str, openapi_url: str) -> APIRouter:
    """The docs page, its starter script, Swagger UI's files and the favicon."""
    docs = APIRouter(include_in_schema=False)

    @docs.get(DOCS)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE.format(title=title, docs=DOCS, version=_version()))

    @docs.get(f"{DOCS}/start.js")
    def start() -> Response:
        return Response(START.format(openapi=openapi_url), media_type="text/javascript")

    @docs.get(f"{DOCS}/favicon.svg")
    def favicon() -> FileResponse:
        return FileResponse(FAVICON, media_type="image/svg+xml")

    def asset(name: str):
        def serve(version: str) -> Response:
            if version != _version():
                return error_response(404, "No such version of the docs' files.")
            headers = {"Cache-Control": ASSET_CACHE}
            return FileResponse(_assets_dir() / name, headers=headers)

        return serve

    for name in ASSETS:
        docs.add_api_route(
            f"{DOCS}/{{version}}/{name}", asset(name), methods=["GET"], responses={404: {}}
        )
    return docs
