"""Behind CloudFront: the API is reached only through the distribution.

CloudFront adds a secret header (`X-Origin-Verify`) to every request it
sends to the API's origin; `OriginVerify` refuses any request without it, so
the API Gateway address cannot be called directly. Once that holds, the
headers the distribution sets can be trusted:

- `X-Forwarded-Host`: the viewer's Host (the distribution's domain or the
  custom domain), set by a CloudFront Function on `/api/*`. It is the site's
  address when no `SITE_URL` is configured (there is none on the API
  function without a custom domain: it would make the template circular).
- `CloudFront-Viewer-Address`: the viewer's `ip:port`; API Gateway's
  `sourceIp` is only the edge's address.

Without an origin secret (the local stack), none of this applies.
"""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response

ORIGIN_HEADER = b"x-origin-verify"


class OriginVerify:
    """ASGI middleware: 403 (the error envelope) for any request that does not
    carry the distribution's secret header; compared in constant time."""

    def __init__(self, app: ASGIApp, secret: str):
        if not secret:
            raise ValueError("the origin secret must not be empty")
        self.app = app
        self._secret = secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(ORIGIN_HEADER, b"")
            if not hmac.compare_digest(given, self._secret):
                response = error_response(403, "Requests must come through the site's address.")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, origin_secret: str) -> None:
    """Only requests through the distribution pass; trust its headers."""
    app.add_middleware(OriginVerify, secret=origin_secret)
    app.state.behind_cloudfront = True


def behind_cloudfront(request: Request) -> bool:
    return getattr(request.app.state, "behind_cloudfront", False)


def _first(value: str) -> str:
    return value.split(",")[0].strip()


def trusts_forwarding(request: Request) -> bool:
    """Whether `X-Forwarded-*` headers may be believed: behind CloudFront
    (its secret header was checked), or when the local server was told which
    proxies to trust (`FORWARDED_ALLOW_IPS`, see `build.py serve`). Anyone
    can send these headers; by default they mean nothing."""
    return behind_cloudfront(request) or getattr(request.app.state, "trust_forwarded", False)


def viewer_origin(request: Request) -> str:
    """The origin the browser called, as the trusted proxy in front reported
    it (the scheme of a trusted proxy is already in the URL: uvicorn and
    Mangum read `X-Forwarded-Proto` from it)."""
    host = request.headers.get("host", "")
    if trusts_forwarding(request):
        host = request.headers.get("x-forwarded-host") or host
    scheme = "https" if behind_cloudfront(request) else request.url.scheme
    return f"{scheme}://{_first(host)}".lower()


def site_url(request: Request) -> str:
    """The site's public address: `SITE_URL` when configured, else the
    address the viewer called (behind CloudFront), else this server's."""
    configured = getattr(request.app.state.renderer, "site_url", "")
    if configured:
        return configured
    if behind_cloudfront(request) and request.headers.get("x-forwarded-host"):
        return viewer_origin(request)
    return str(request.base_url).rstrip("/")


def viewer_address(request: Request) -> str:
    """The caller's IP: CloudFront's `CloudFront-Viewer-Address` (`ip:port`,
    the last `:` starts the port, also for IPv6) behind the distribution;
    else the connection's peer (on Lambda, API Gateway's `sourceIp`)."""
    if behind_cloudfront(request):
        ip, colon, port = request.headers.get("cloudfront-viewer-address", "").rpartition(":")
        if colon and ip and port.isdigit():
            return ip.strip("[]")
    return request.client.host if request.client else "unknown"
