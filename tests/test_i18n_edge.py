"""Which language a page request gets: the same rule in the local server
(`functions.local`, by `i18n.redirect_for`) and in the CloudFront Function of
template.yaml, checked on one table of cases. A first visit goes by the
browser's Accept-Language; the footer's switch (the `lang` cookie) then
decides both ways; feeds, assets and the API are never redirected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from functions import i18n
from tests.test_template import node_run, viewer_request

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"

# (path, lang cookie, Accept-Language) -> where it redirects (None: served as asked).
CASES = [
    ("/", None, "es-ES,es;q=0.9,en;q=0.8", "/es/"),
    ("/u/ann/", None, "es", "/es/u/ann/"),
    ("/u/ann/page/2/", None, "es-MX", "/es/u/ann/page/2/"),
    ("/explore/", None, "en-US,en;q=0.9,es;q=0.5", None),
    ("/explore/", None, "fr-FR,es;q=0.8,en;q=0.7", "/es/explore/"),
    ("/explore/", None, "es;q=0.2,en;q=0.9", None),
    ("/explore/", None, "es;q=0", None),
    ("/explore/", None, None, None),
    ("/explore/", None, "de,fr", None),
    # Someone linked to a Spanish page: without a choice made, it stays Spanish.
    ("/es/explore/", None, "en-US", None),
    ("/es/", None, None, None),
    # The switch's cookie decides, whatever the browser says.
    ("/login/", "es", "en-US", "/es/login/"),
    ("/es/login/", "en", "es-ES", "/login/"),
    ("/es/", "en", None, "/"),
    ("/es/login/", "es", "en", None),
    ("/login/", "en", "es", None),
    ("/login/", "fr", "es", "/es/login/"),  # an unknown cookie counts as none
    # Never: feeds, sitemaps, assets, the API, the 404 page.
    ("/explore/feed.xml", "es", "es", None),
    ("/u/ann/feed.xml", None, "es", None),
    ("/sitemap.xml", "es", "es", None),
    ("/robots.txt", "es", "es", None),
    ("/static/app.0123456789.js", "es", "es", None),
    ("/static/i18n/es.0123456789.json", "en", "es", None),
    ("/api/me", "es", "es", None),
    ("/api/users/", "es", "es", None),
    ("/404.html", "es", "es", None),
]


@pytest.mark.parametrize(("path", "cookie", "accept", "to"), CASES)
def test_the_reader_gets_their_language(path, cookie, accept, to):
    assert i18n.redirect_for(path, cookie, accept) == to


def edge_request(path: str, cookie: str | None, accept: str | None, query=None) -> dict:
    event = viewer_request(path, query)
    if accept is not None:
        event["request"]["headers"]["accept-language"] = {"value": accept}
    event["request"]["cookies"] = {"lang": {"value": cookie}} if cookie else {}
    return event


@pytest.fixture(scope="module")
def site_function() -> str:
    class Loader(yaml.SafeLoader):
        pass

    # CloudFormation's short tags (!Sub, !Ref, ...) as plain values.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(TEMPLATE.read_text(), Loader=Loader)
    return template["Resources"]["SiteRequestFunction"]["Properties"]["FunctionCode"]


def test_the_edge_function_sends_each_reader_where_the_local_server_does(site_function):
    results = node_run(site_function, [edge_request(p, c, a) for p, c, a, _ in CASES])
    for (path, cookie, accept, to), result in zip(CASES, results, strict=True):
        if to is None:  # (a 301 to /x/ is the pretty-URL rule, not a language's)
            assert result.get("statusCode") != 302, (path, cookie, accept, result)
        else:
            assert result["statusCode"] == 302, (path, cookie, accept)
            assert result["headers"]["location"]["value"] == to
            assert result["headers"]["cache-control"]["value"] == "no-store"


def test_the_edge_keeps_the_query_and_still_maps_pretty_urls(site_function):
    moved, kept, asset = node_run(
        site_function,
        [
            edge_request("/login/", None, "es", {"next": "/u/ann/"}),
            edge_request("/es/login/", "es", "en"),
            edge_request("/static/style.0123456789.css", "es", "es"),
        ],
    )
    assert moved["headers"]["location"]["value"] == "/es/login/?next=/u/ann/"
    assert kept["uri"] == "/es/login/index.html"
    assert asset["uri"] == "/static/style.0123456789.css"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The local stack (`build.py serve`'s app), built once for these tests."""
    from fastapi.testclient import TestClient

    from functions.config import Settings
    from functions.local import create_local_app

    root = tmp_path_factory.mktemp("local")
    app = create_local_app(Settings(var_dir=root / "var", site_dir=root / "site"))
    with TestClient(app) as client:
        yield client
    app.state.microblog.store.close()


@pytest.fixture
def client(local):
    local.cookies.clear()
    return local


@pytest.mark.parametrize(("path", "cookie", "accept", "to"), CASES)
def test_the_local_server_redirects_as_the_edge_does(client, path, cookie, accept, to):
    if cookie:
        client.cookies.set(i18n.LANG_COOKIE, cookie)
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get(path, headers=headers, follow_redirects=False)
    if to is None:
        assert response.status_code != 302
    else:
        assert response.status_code == 302
        assert response.headers["location"] == to
        assert response.headers["cache-control"] == "no-store"


def test_the_local_server_keeps_the_query_and_serves_the_page_in_the_language(client):
    response = client.get(
        "/login/?next=/u/ann/", headers={"Accept-Language": "es"}, follow_redirects=False
    )
    assert response.headers["location"] == "/es/login/?next=/u/ann/"
    page = client.get(response.headers["location"], headers={"Accept-Language": "es"})
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert "Iniciar sesión" in page.text


def test_a_post_to_a_page_address_is_never_redirected(client):
    response = client.post("/login/", headers={"Accept-Language": "es"}, follow_redirects=False)
    assert response.status_code != 302


def test_a_missing_page_under_es_gets_the_spanish_404_locally(client):
    spanish = client.get("/es/nothing/here/", headers={"Accept-Language": "es"})
    assert spanish.status_code == 404 and '<html lang="es">' in spanish.text
    assert "Página no encontrada" in spanish.text
    english = client.get("/nothing/here/")
    assert english.status_code == 404 and '<html lang="en">' in english.text


# The footer's switch without JavaScript: `?lang=` sets the cookie and goes to
# the page in that language, the rest of the query kept.
SWITCHES = [
    ("/es/explore/", "es", "es", {"lang": "en"}, "/explore/"),
    ("/explore/", "en", "en", {"lang": "es", "page": "2"}, "/es/explore/?page=2"),
    ("/es/", None, "es", {"lang": "en"}, "/"),
    ("/login/", None, "en", {"lang": "en"}, "/login/"),  # already there: the cookie only
]


@pytest.mark.parametrize(("path", "cookie", "accept", "query", "to"), SWITCHES)
def test_the_switch_without_javascript_sets_the_cookie_at_the_edge(
    site_function, path, cookie, accept, query, to
):
    (result,) = node_run(site_function, [edge_request(path, cookie, accept, query)])
    assert result["statusCode"] == 302 and result["headers"]["location"]["value"] == to
    (chosen,) = {value for key, value in query.items() if key == "lang"}
    assert result["cookies"]["lang"]["value"] == chosen
    assert "Max-Age=31536000" in result["cookies"]["lang"]["attributes"]


@pytest.mark.parametrize(("path", "cookie", "accept", "query", "to"), SWITCHES)
def test_the_switch_without_javascript_sets_the_cookie_locally(
    client, path, cookie, accept, query, to
):
    if cookie:
        client.cookies.set(i18n.LANG_COOKIE, cookie)
    response = client.get(
        path, params=query, headers={"Accept-Language": accept}, follow_redirects=False
    )
    assert response.status_code == 302 and response.headers["location"] == to
    assert f"lang={query['lang']}" in response.headers["set-cookie"]
    # Then the cookie keeps the reader there, whatever the browser asks for.
    client.cookies.set(i18n.LANG_COOKIE, query["lang"])
    landed = client.get(to, headers={"Accept-Language": accept}, follow_redirects=False)
    assert landed.status_code == 200


def test_a_lang_parameter_on_an_asset_or_the_api_changes_nothing(client):
    asset = client.get("/robots.txt?lang=es", follow_redirects=False)
    assert asset.status_code == 200 and "set-cookie" not in asset.headers
    assert i18n.switch_for("/api/me", "es") is None and i18n.switch_for("/u/a/", "fr") is None
