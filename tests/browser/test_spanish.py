"""A Spanish-speaking reader in Chromium: a browser that asks for Spanish
lands on /es/, reads the Spanish navigation, signs in with the Spanish
labels, sees dates in Spanish, and switches to English with the footer."""

from __future__ import annotations

import random
import re
import string
import uuid

from playwright.sync_api import expect

from .ui import PASSWORD, goto, register_api, sign_in


def test_a_spanish_browser_reads_signs_in_and_switches_to_english(make_context, base):
    name = f"ana{uuid.uuid4().hex[:6]}"
    register_api(base, name)
    page = make_context(locale="es-ES").new_page()  # Accept-Language: es-ES

    goto(page, "/")
    expect(page).to_have_url(f"{base}/es/")  # the first visit, by Accept-Language
    assert page.locator("html").get_attribute("lang") == "es"
    nav = page.get_by_role("navigation", name="Principal")
    expect(nav.get_by_role("link", name="Inicio")).to_be_visible()
    expect(nav.get_by_role("link", name="Explorar")).to_be_visible()
    nav.get_by_role("link", name="Iniciar sesión").click()

    expect(page).to_have_url(f"{base}/es/login/")
    page.wait_for_selector("html[data-ready]", state="attached")
    page.get_by_role("button", name="Iniciar sesión").click()  # empty: the script's checks
    expect(page.locator("#username-error")).to_have_text("Este campo es obligatorio.")
    page.get_by_label("Nombre de usuario").fill(name)
    page.get_by_label("Contraseña").fill("not-the-password")
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.locator(".flash")).to_have_text("Nombre de usuario o contraseña no válidos")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_label("Recordarme").check()
    page.get_by_role("button", name="Iniciar sesión").click()

    expect(page).to_have_url(f"{base}/es/")
    expect(nav.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    page.get_by_label("Di algo").fill("¡Hola desde Madrid!")
    page.get_by_role("button", name="Enviar").click()
    expect(page.locator(".flash")).to_have_text("¡Tu artículo ha sido publicado!")
    post = page.locator("#feed .post").first
    expect(post.locator(".post-meta")).to_contain_text(f"{name} dijo")
    # Dates through Intl in Spanish: "ahora", and the full date in the title.
    time = post.locator("time")
    expect(time).to_have_text(re.compile(r"^(ahora|hace \d+ segundos?)$"))
    expect(time).to_have_attribute("title", re.compile(r"^\d{1,2} de [a-z]+ de \d{4}"))

    nav.get_by_role("link", name="Perfil").click()
    expect(page).to_have_url(f"{base}/es/u/{name}/")
    expect(page.locator(".last-seen")).to_contain_text(re.compile(r"Última visita: \d+ de [a-z]+"))
    expect(page.locator(".counts")).to_contain_text("0 seguidores, 0 siguiendo, 1 artículo")

    page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
    expect(page).to_have_url(f"{base}/u/{name}/")
    page.wait_for_selector("html[data-ready]", state="attached")
    assert page.locator("html").get_attribute("lang") == "en"
    english_nav = page.get_by_role("navigation", name="Main")
    expect(english_nav.get_by_role("button", name="Logout")).to_be_visible()
    expect(page.locator(".last-seen")).to_contain_text("Last seen on:")
    # The choice sticks: the browser still asks for Spanish, the cookie says English.
    goto(page, "/")
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hi, ")


def test_the_popup_on_a_spanish_page_reads_the_card_and_speaks_spanish(make_context, base):
    name = f"luis{uuid.uuid4().hex[:6]}"
    register_api(base, name)
    author = make_context().new_page()
    sign_in(author, name)
    assert author.request.post("/api/posts", data={"body": "Hola desde el popup"}).ok

    page = make_context(locale="es-ES").new_page()
    goto(page, "/es/explore/")
    page.locator(f'.post a.post-author[href="/es/u/{name}/"]').first.hover()
    popup = page.get_by_role("dialog", name=name)
    expect(popup).to_be_visible()  # its card read from /u/<name>/card.json, the one there is
    counts = popup.locator(".user-popup-counts")
    expect(counts).to_have_text("0 seguidores, 0 siguiendo, 1 artículo")
    expect(popup).to_contain_text(re.compile(r"Última visita: \d{1,2} de [a-z]+ de \d{4}"))
    expect(popup.get_by_role("link", name=name)).to_have_attribute("href", f"/es/u/{name}/")


def test_search_on_a_spanish_page_reads_the_one_index_and_shows_spanish_posts(make_context, base):
    name = f"eva{uuid.uuid4().hex[:6]}"
    word = "".join(random.choices(string.ascii_lowercase, k=9))
    register_api(base, name)
    author = make_context().new_page()
    sign_in(author, name)
    assert author.request.post("/api/posts", data={"body": f"Busca {word} aquí"}).ok

    page = make_context(locale="es-ES").new_page()
    goto(page, "/es/explore/")
    box = page.get_by_placeholder("Buscar")
    box.fill(word)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/es/search/\?q="))
    expect(page.get_by_role("heading", name="Resultados de búsqueda")).to_be_visible()
    result = page.locator("#search-results article.post")
    expect(result).to_have_count(1)
    expect(result.locator(".post-meta")).to_contain_text(f"{name} dijo")
    expect(result.locator(".post-author")).to_have_attribute("href", f"/es/u/{name}/")


def test_the_switch_works_without_javascript(make_context, base):
    page = make_context(locale="es-ES", java_script_enabled=False).new_page()
    page.goto("/explore/")
    expect(page).to_have_url(f"{base}/es/explore/")  # the first visit, by Accept-Language
    page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
    expect(page).to_have_url(f"{base}/explore/")  # the server set the cookie
    expect(page.get_by_role("heading", level=1)).to_have_text("Explore")
    page.goto("/")
    expect(page).to_have_url(f"{base}/")  # and it sticks
