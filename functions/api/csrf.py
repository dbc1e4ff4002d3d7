"""Cross-site request forgery: refuse cookie-authenticated writes from other sites.

The session cookie is SameSite=Lax already, so browsers do not send it on
cross-site POSTs; checking `Origin` as well is the defence that does not
depend on the browser's cookie policy. Calls with a Bearer token are not
bound to a cookie and are left alone, as are requests that carry neither
`Origin` nor `Sec-Fetch-Site` (curl, scripts: no browser, no ambient cookie
theft). Login is checked too, so a foreign page cannot log a visitor into
an account of its choosing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from starlette.exceptions import HTTPException

from .. import urls
from .deps import SESSION_COOKIE
from .edge import site_url, viewer_origin

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOGIN = urls.API + "/session"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(request: Request) -> set[str]:
    """The origins this API answers for: the address it was called at (as the
    proxy in front forwarded it) and the site's public address."""
    return {viewer_origin(request), _origin(site_url(request))}


def check_origin(request: Request) -> None:
    """A dependency of every route: raises 403 for a forged browser write."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if SESSION_COOKIE not in request.cookies and request.url.path != LOGIN:
        return
    origin = request.headers.get("origin")
    if origin is None:
        if request.headers.get("sec-fetch-site") == "cross-site":
            raise HTTPException(403, "Cross-site request refused.")
        return
    if origin.lower() not in own_origins(request):
        raise HTTPException(403, "Cross-site request refused.")
