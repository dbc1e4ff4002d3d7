"""What used to be dead ends in the UI (issue 11): "Translate" only where it
can work, avatars when Gravatar cannot load, the API docs with no internet,
the favicon, and every register error at once. Pages are served with the
site's Content-Security-Policy from template.yaml, as CloudFront serves them,
and no test may see it violated."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.server import ROOT

from .ui import GRAVATAR, PASSWORD, goto, register_api, sign_in, visitor

SPANISH = "Hola a todos, hoy hace un día muy bonito y vamos a pasear por el parque con los niños."


def site_csp() -> str:
    """The policy CloudFront adds to every response (template.yaml)."""
    text = (ROOT / "template.yaml").read_text()
    block = re.search(r"ContentSecurityPolicy: >-\n((?: {14}.*\n)+)", text)
    assert block, "no ContentSecurityPolicy in template.yaml"
    return " ".join(block.group(1).split())


@pytest.fixture
def csp_page(make_context, base) -> Page:
    """A page whose same-origin responses carry the site's CSP; violations
    are collected in `window.cspViolations`."""
    context = make_context()
    policy = site_csp()

    def with_csp(route: Route) -> None:
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": policy}
        )

    context.route(f"{base}/**", with_csp)
    context.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"
    )
    page = context.new_page()
    yield page
    assert page.evaluate("window.cspViolations") == []


@pytest.fixture
def spanish(base) -> tuple[str, str]:
    """Someone's post in Spanish: (author, post id)."""
    name = f"ana{uuid.uuid4().hex[:6]}"
    register_api(base, name)
    with httpx.Client(base_url=base, headers=visitor()) as http:
        assert http.post("/api/session", json={"username": name, "password": PASSWORD}).is_success
        created = http.post("/api/posts", json={"body": SPANISH}).json()
    assert created["language"] == "es", created
    return name, created["id"]


def test_logged_out_readers_get_no_translate_link(csp_page, spanish):
    _, post_id = spanish
    goto(csp_page, f"/p/{post_id}/")
    expect(csp_page.locator(".post-body[lang=es]")).to_contain_text("Hola a todos")
    expect(csp_page.get_by_role("button", name="Translate")).to_have_count(0)


def test_translate_links_only_where_translation_is_configured(csp_page, base, spanish):
    _, post_id = spanish
    reader = f"ben{uuid.uuid4().hex[:6]}"
    register_api(base, reader)
    sign_in(csp_page, reader)

    def unconfigured(route: Route) -> None:
        me = route.fetch().json()
        assert me["can_translate"] is True  # the stack's fake Translate endpoint
        route.fulfill(json={**me, "can_translate": False})

    csp_page.route("**/api/me", unconfigured)
    goto(csp_page, f"/p/{post_id}/")
    expect(csp_page.locator(".post-body[lang=es]")).to_be_visible()
    expect(csp_page.get_by_role("button", name="Translate")).to_have_count(0)

    csp_page.unroute("**/api/me")
    goto(csp_page, f"/p/{post_id}/")
    expect(csp_page.get_by_role("button", name="Translate")).to_have_count(1)


def test_avatars_fall_back_to_the_initial_when_gravatar_cannot_load(csp_page, spanish):
    author, _ = spanish
    csp_page.route(GRAVATAR, lambda route: route.abort())  # no internet
    goto(csp_page, f"/u/{author}/")
    profile = csp_page.locator("svg.profile-avatar")
    expect(profile).to_have_attribute("aria-label", f"Avatar of {author}")
    expect(profile).to_have_attribute("width", "128")
    expect(profile.locator("text")).to_have_text(author[0].upper())
    in_post = csp_page.locator(".post-avatar svg")
    expect(in_post).to_have_attribute("aria-hidden", "true")
    expect(in_post.locator("text")).to_have_text(author[0].upper())
    colours = {
        csp_page.locator(f"{where} rect").get_attribute("fill")
        for where in ("svg.profile-avatar", ".post-avatar svg")
    }
    assert len(colours) == 1 and colours.pop().startswith("hsl(")
    expect(csp_page.locator("img[data-name]")).to_have_count(0)


def test_avatars_stay_gravatars_when_it_loads(csp_page, spanish):
    author, _ = spanish
    goto(csp_page, f"/u/{author}/")
    avatar = csp_page.locator("img.profile-avatar")
    expect(avatar).to_be_visible()
    assert avatar.evaluate("img => img.naturalWidth") > 0
    expect(csp_page.locator("svg.avatar-fallback")).to_have_count(0)


def test_the_api_docs_work_offline_under_the_csp(csp_page, base):
    elsewhere = []
    csp_page.on("request", lambda r: r.url.startswith(base) or elsewhere.append(r.url))
    csp_page.goto("/api/docs")
    expect(csp_page.locator(".swagger-ui .info .title")).to_contain_text("Microblog API")
    expect(csp_page.locator(".opblock-summary-path", has_text="/api/session").first).to_be_visible()
    assert elsewhere == []


def test_every_page_has_a_favicon(page, base):
    for path in ("/", "/explore/", "/api/docs"):
        page.goto(path)
        icon = page.locator("link[rel=icon]").get_attribute("href")
        response = page.request.get(icon)
        assert response.status == 200 and response.headers["content-type"] == "image/svg+xml"
        assert response.body().startswith(b"<svg")


def test_register_shows_every_invalid_field_at_once(csp_page):
    goto(csp_page, "/register/")
    csp_page.get_by_label("Username").fill("ab")
    csp_page.get_by_label("Email").fill("ab@example.com")
    csp_page.get_by_label("Password", exact=True).fill("short")
    csp_page.get_by_label("Repeat Password").fill("short")
    csp_page.get_by_role("button", name="Register").click()
    expect(csp_page.locator("#username-error")).to_contain_text("Username must be 3 to 32")
    expect(csp_page.locator("#password-error")).to_contain_text("at least 8 characters")
    expect(csp_page.get_by_label("Username")).to_be_focused()
