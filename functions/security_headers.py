"""The security headers of every response: one source for the local server
(`functions.local`) and the CDN (template.yaml's `SecurityHeadersPolicy`,
which tests/test_security_headers.py compares with this module).

The UI loads only its own script and style (no inline code) and Gravatar
avatars, and fetches only its own `/api`. HSTS is the CDN's alone: the local
server speaks plain HTTP, where browsers ignore it.
"""

from __future__ import annotations

CSP_DIRECTIVES: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "https://www.gravatar.com", "https://secure.gravatar.com"),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
CONTENT_SECURITY_POLICY = "; ".join(
    f"{name} {' '.join(sources)}" for name, sources in CSP_DIRECTIVES.items()
)

HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
