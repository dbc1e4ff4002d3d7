"""The translation catalogs: every message the interface shows is extracted,
translated into Spanish, and compiled into the files the code reads."""

from __future__ import annotations

import re
import shutil

import pytest

from functions import catalogs, i18n

LANG = "es"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(scope="module")
def extracted():
    """What `build.py translate update` extracts now (templates, Python, app.js)."""
    return catalogs.extract()


@pytest.fixture(scope="module")
def spanish():
    return catalogs.read(LANG)


def ids(catalog) -> set:
    return {
        message.id if isinstance(message.id, str) else tuple(message.id)
        for message in catalog
        if message.id
    }


def test_extraction_finds_no_message_missing_from_the_po(extracted, spanish):
    missing = ids(extracted) - ids(spanish)
    assert not missing, (
        f"run `build.py translate update`, then translate: {sorted(map(str, missing))}"
    )


def test_the_po_holds_no_message_the_code_no_longer_shows(extracted, spanish):
    assert not ids(spanish) - ids(extracted), "run `build.py translate update`"


def test_extraction_reaches_templates_python_and_the_script(extracted):
    sources = {filename.rsplit(".", 1)[-1] for m in extracted for filename, _ in m.locations}
    assert {"html", "txt", "py", "js"} <= sources
    found = ids(extracted)
    assert {"Sign In", "Invalid username or password", "Your post is now live!"} <= found
    assert ("follower", "followers") in found  # ngettext in a template, tn() in app.js


def test_every_message_is_translated_into_spanish(spanish):
    untranslated = [
        message.id
        for message in spanish
        if message.id
        and (message.fuzzy or not (all(message.string) if message.pluralizable else message.string))
    ]
    assert not untranslated


def test_translations_keep_their_placeholders(spanish):
    assert not list(spanish.check())  # Babel's checks: python-format, plural forms
    for message in spanish:
        if not message.id:
            continue
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        for string in strings:
            # (a singular may leave out %(num)d, as "seguidor" does)
            assert set(PLACEHOLDER.findall(string)) <= wanted | {"num"}, message.id
            assert set(PLACEHOLDER.findall(string)) >= wanted - {"num"}, message.id


def test_the_compiled_files_are_what_the_po_compiles_to(spanish):
    folder = catalogs.po_path(LANG).parent
    for name, body in catalogs.compiled(spanish).items():
        assert (folder / name).read_bytes() == body, f"run `build.py translate compile` ({name})"


def test_the_scripts_catalog_holds_only_the_scripts_messages(spanish):
    script = i18n.script_catalog(LANG)
    assert b'"Your post is now live!":"\xc2\xa1Tu art' in script  # app.js's
    assert b"Remember Me" not in script  # a template's only
    assert b'"follower":["seguidor","seguidores"]' in script


def test_the_runtime_reads_the_compiled_catalog():
    assert i18n.translate("Sign In", LANG) == "Iniciar sesión"
    text = i18n.Text("Password must be at least %(min)d characters.", min=8)
    assert text == "Password must be at least 8 characters."
    assert i18n.translate(text, LANG) == "La contraseña debe tener al menos 8 caracteres."
    assert i18n.translate("not a message", LANG) == "not a message"
    assert i18n.translate("Sign In", "en") == "Sign In"


def test_init_update_and_compile_make_a_new_languages_files(tmp_path):
    root = tmp_path / "translations"
    path = catalogs.init("fr", root)
    created = catalogs.read("fr", root)
    assert path.is_file() and ids(created) == ids(catalogs.extract())
    assert not any(
        string
        for message in created
        if message.id
        for string in ([message.string] if isinstance(message.string, str) else message.string)
    )
    shutil.copytree(catalogs.po_path(LANG).parent, root / LANG / "LC_MESSAGES")
    assert catalogs.update(root) == [catalogs.po_path(LANG, root)]  # fr is not in LANGUAGES
    assert ids(catalogs.read(LANG, root)) == ids(catalogs.read(LANG))
    written = catalogs.compile_all(root)
    assert {p.name for p in written} == {"messages.mo", "script.json"}
    assert (root / "messages.pot").is_file()
    # Nothing new to translate: the same compiled files (no date churns them).
    for path in written:
        assert path.read_bytes() == (catalogs.po_path(LANG).parent / path.name).read_bytes()
