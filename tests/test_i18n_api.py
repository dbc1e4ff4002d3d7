"""The API in the reader's language: the `message`s the pages show, the
posts' `html`, the reset mail and the 404 page follow the `lang` cookie (the
footer's switch), else Accept-Language; the `error` codes never change."""

from __future__ import annotations

import pytest

from tests.test_api import assert_error, login, register
from tests.test_mail import mails, request_reset

SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}


@pytest.fixture
def spanish(client):
    """The client of a reader who chose Spanish with the footer's switch."""
    client.cookies.set("lang", "es")
    return client


def test_a_wrong_password_is_told_in_spanish_with_the_same_error_code(client):
    register(client)
    english = assert_error(login(client, password="wrong-one"), 401, "Unauthorized")
    assert english["message"] == "Invalid username or password"
    client.cookies.set("lang", "es")
    spanish = assert_error(login(client, password="wrong-one"), 401, "Unauthorized")
    assert spanish["message"] == "Nombre de usuario o contraseña no válidos"


def test_field_errors_are_in_the_browsers_language_without_a_cookie(client):
    response = client.post(
        "/api/users",
        json={"username": "x", "email": "x@example.com", "password": "short"},
        headers=SPANISH,
    )
    body = assert_error(response, 422, "Unprocessable Entity")
    assert body["fields"] == {
        "username": "El nombre de usuario debe tener de 3 a 32 letras, dígitos, '_', '-' o '.'.",
        "password": "La contraseña debe tener al menos 8 caracteres.",
    }
    assert body["message"] == "; ".join(f"{k}: {v}" for k, v in body["fields"].items())


def test_the_cookie_wins_over_the_browser(client):
    client.cookies.set("lang", "en")
    response = client.get("/api/me", headers=SPANISH)
    assert assert_error(response, 401, "Unauthorized")["message"] == (
        "Please log in to access this page."
    )


def test_a_taken_username_and_a_missing_login_read_in_spanish(spanish):
    register(spanish)
    taken = assert_error(register(spanish, email="other@example.com"), 409, "Conflict")
    assert taken["message"] == "Por favor, usa un nombre de usuario diferente."
    assert taken["fields"] == {"username": taken["message"]}
    assert assert_error(spanish.get("/api/me"), 401, "Unauthorized")["message"] == (
        "Por favor, inicia sesión para acceder a esta página."
    )


def test_posts_html_is_rendered_in_the_readers_language(spanish):
    register(spanish)
    assert login(spanish).status_code == 200
    created = spanish.post("/api/posts", json={"body": "¡Hola!"}).json()
    assert " dijo " in created["html"] and 'href="/es/u/susan/"' in created["html"]
    (item,) = spanish.get("/api/feed").json()["items"]
    assert " dijo " in item["html"] and f'href="/es/p/{created["id"]}/"' in item["html"]
    spanish.cookies.set("lang", "en")
    english = spanish.get(f"/api/posts/{created['id']}").json()["html"]
    assert " said " in english and 'href="/u/susan/"' in english


def test_the_reset_mail_is_in_the_language_of_the_page_that_asked(spanish, settings):
    register(spanish)
    assert request_reset(spanish).status_code == 202
    [message] = mails(settings.var_dir / "outbox")
    assert message["Subject"] == "[Microblog] Restablece tu contraseña"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith("Hola, susan:") and "El equipo de Microblog" in text
    assert "http://127.0.0.1:8000/es/reset-password/#token=" in text
    assert '<html lang="es">' in html and "haz clic aquí" in html


def test_a_missing_page_under_es_is_the_spanish_404(settings):
    from fastapi.testclient import TestClient

    from functions.api.missing import MissingPage
    from functions.wiring import make_renderer

    client = TestClient(MissingPage(make_renderer(settings)))
    spanish, english = client.get("/es/nothing/here/"), client.get("/nothing/here/")
    assert spanish.status_code == english.status_code == 404
    assert '<html lang="es">' in spanish.text and "Página no encontrada" in spanish.text
    assert '<html lang="en">' in english.text and "Not Found" in english.text
