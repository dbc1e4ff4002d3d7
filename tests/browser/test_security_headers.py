"""The UI under the security headers the local server itself sends (the same
policy as the CDN's, functions/security_headers.py): every page works signed
out and signed in, and Chromium reports no Content-Security-Policy violation."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from functions.security_headers import HEADERS

from .ui import post, register_api, sign_in

PAGES = ["/", "/explore/", "/login/", "/register/", "/reset-password/", "/api/docs"]


def test_every_page_works_under_the_servers_own_csp(make_context, base):
    context = make_context()
    context.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )
    page = context.new_page()
    violations = []

    def collect() -> None:
        """The violations of the page shown now (a new page starts a new list)."""
        if page.url.startswith("http"):
            violations.extend(page.evaluate("window.cspViolations"))

    def visit(path: str) -> None:
        collect()
        response = page.goto(path)
        assert response.headers["content-security-policy"] == HEADERS["Content-Security-Policy"]
        if not path.startswith("/api/"):
            page.wait_for_selector("html[data-ready]", state="attached")

    for path in PAGES:
        visit(path)
    name = f"csp{uuid.uuid4().hex[:6]}"
    register_api(base, name)
    collect()
    sign_in(page, name)
    post(page, "Under the *policy*")
    expect(page.locator("#feed .post-body").first).to_contain_text("Under the policy")
    for path in ["/", "/explore/", f"/u/{name}/", "/edit-profile/"]:
        visit(path)
    collect()
    assert violations == []
