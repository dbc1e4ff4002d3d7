"""The security headers: one policy (functions.security_headers) for the CDN
(template.yaml) and the local server, on every local response."""

from __future__ import annotations

import pytest

from functions.security_headers import CSP_DIRECTIVES, HEADERS
from tests.test_template import load_template


def cdn_policy() -> dict:
    resources = load_template()["Resources"]
    config = resources["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    return config["SecurityHeadersConfig"]


def test_the_cdn_serves_the_modules_policy():
    security = cdn_policy()
    text = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    directives = [d.split() for d in text.split(";") if d.strip()]
    assert {d[0]: set(d[1:]) for d in directives} == {
        name: set(sources) for name, sources in CSP_DIRECTIVES.items()
    }
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == HEADERS["Referrer-Policy"]
    assert security["FrameOptions"]["FrameOption"] == HEADERS["X-Frame-Options"]
    assert "ContentTypeOptions" in security  # X-Content-Type-Options: nosniff
    assert all(item["Override"] for item in security.values())


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/"),  # a static page
        ("GET", "/static/app.js"),
        ("GET", "/no/such/page/"),  # the 404 page
        ("GET", "/api/me"),  # an API error
        ("GET", "/api/explore"),
        ("GET", "/api/openapi.json"),
        ("POST", "/api/session"),
    ],
)
def test_every_local_response_carries_the_security_headers(client, method, path):
    response = client.request(method, path)
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
