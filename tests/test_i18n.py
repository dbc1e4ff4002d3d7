"""The languages' plumbing: the reader's choice, page addresses per language,
the LANGUAGES setting."""

from __future__ import annotations

import pytest

from functions import config, i18n, urls


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", "es"),
        ("en-GB,en;q=0.9,es;q=0.8", "en"),
        ("fr-CA,fr;q=0.9,es;q=0.5", "es"),
        ("es;q=0.3,en;q=0.7", "en"),
        ("ES-mx", "es"),
        ("es;q=0", "en"),
        ("es;q=abc", "en"),
        ("*", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_browsers_preference_picks_a_language(header, lang):
    assert i18n.from_accept_language(header) == lang


def test_the_switchs_cookie_wins_when_it_names_a_language():
    assert i18n.reader_language("es", "en") == "es"
    assert i18n.reader_language("en", "es") == "en"
    assert i18n.reader_language("xx", "es") == "es"


def test_pages_have_an_address_per_language_and_the_rest_one():
    es = urls.Localized("es")
    assert (es.HOME, es.EXPLORE, es.NOT_FOUND) == ("/es/", "/es/explore/", "/es/404.html")
    assert es.user_archive("ann", 2) == "/es/u/ann/page/2/"
    assert es.user_feed("ann") == "/u/ann/feed.xml" and es.EXPLORE_FEED == "/explore/feed.xml"
    assert es.api_user("x") == "/api/users/x" and es.SITEMAP == "/sitemap.xml"
    assert urls.Localized("en").user_page("ann") == "/u/ann/"
    assert urls.split_language("/es/u/ann/", i18n.LANGUAGES) == ("es", "/u/ann/")
    assert urls.split_language("/es", i18n.LANGUAGES) == ("es", "/")
    assert urls.split_language("/estate/", i18n.LANGUAGES) == ("en", "/estate/")


def test_a_message_translates_after_it_was_formatted():
    text = i18n.Text("A post has at most %(max)d characters.", max=500)
    assert text == "A post has at most 500 characters." and isinstance(text, str)
    assert i18n.translate(text, "es") == "Un artículo puede tener como máximo 500 caracteres."


def test_the_languages_setting_keeps_english_first():
    assert config.Settings.from_env({}).languages == ("en", "es")
    assert config.Settings.from_env({"LANGUAGES": "en"}).languages == ("en",)
    assert config.Settings.from_env({"LANGUAGES": "es"}).languages == ("en", "es")
    with pytest.raises(ValueError, match="no catalog for fr"):
        config.Settings.from_env({"LANGUAGES": "en,fr"})
