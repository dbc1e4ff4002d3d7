"""The translation catalogs' upkeep with Babel: the tutorial's `flask translate
init|update|compile`, as `build.py translate ...`.

- `extract`: every message of babel.cfg's files (templates, the Python
  strings users see, app.js's `t()`/`tn()`), as a Babel catalog;
- `update`: writes `translations/messages.pot` and merges it into each
  language's `messages.po` (new msgids untranslated, gone ones dropped);
- `compile`: each `.po` to the `.mo` the renderer and the API read with the
  standard library's gettext, and to `script.json`, the subset app.js shows
  (published by the renderer as a hashed asset).

The compiled files are committed (the Lambda package has no Babel);
`tests/test_i18n_catalogs.py` checks they are what `compile` makes of the
`.po` now. A build-time tool: nothing the functions import at run time.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from .i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, SCRIPT_CATALOG

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "babel.cfg"
TRANSLATIONS = ROOT / "translations"
# app.js's helpers: t("message"), tn("one", "many", n).
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None, "tn": (1, 2)}
PROJECT = "Microblog"
WIDTH = 100


def po_path(lang: str, root: Path = TRANSLATIONS) -> Path:
    return root / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(root: Path = ROOT) -> Catalog:
    """Every marked message of the files babel.cfg names, with where it is."""
    with MAPPING.open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog(project=PROJECT, fuzzy=False)
    found = extract_from_dir(
        root, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    )
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read(lang: str, root: Path = TRANSLATIONS) -> Catalog:
    with po_path(lang, root).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=WIDTH, omit_header=False, include_previous=False)
    return out.getvalue()


def write_template(root: Path = TRANSLATIONS) -> Catalog:
    template = extract()
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{DOMAIN}.pot").write_bytes(_po_bytes(template))
    return template


def init(lang: str, root: Path = TRANSLATIONS) -> Path:
    """A new language's `.po`, every message untranslated."""
    template = write_template(root)
    catalog = Catalog(locale=lang, domain=DOMAIN, project=PROJECT, fuzzy=False)
    catalog.update(template, no_fuzzy_matching=True)
    path = po_path(lang, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_po_bytes(catalog))
    return path


def update(root: Path = TRANSLATIONS) -> list[Path]:
    """Extract again and merge into every language's `.po`; the paths written."""
    template = write_template(root)
    written = []
    for lang in LANGUAGES:
        if lang == DEFAULT_LANGUAGE or not po_path(lang, root).exists():
            continue
        catalog = read(lang, root)
        before, created = _ids(catalog), catalog.creation_date
        # No fuzzy guesses: a new message is untranslated until someone translates it.
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if _ids(catalog) == before:  # nothing new: the same header, the same .mo
            catalog.creation_date = created
        po_path(lang, root).write_bytes(_po_bytes(catalog))
        written.append(po_path(lang, root))
    return written


def _ids(catalog: Catalog) -> set:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def compiled(catalog: Catalog) -> dict[str, bytes]:
    """The files `compile` writes for a language's catalog: name -> bytes."""
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    script: dict[str, object] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if not any(filename.endswith(".js") for filename, _ in message.locations):
            continue
        if isinstance(message.id, tuple | list):
            if all(message.string):
                script[message.id[0]] = list(message.string)
        elif message.string:
            script[message.id] = message.string
    body = json.dumps(script, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return {f"{DOMAIN}.mo": mo.getvalue(), SCRIPT_CATALOG: body.encode("utf-8")}


def compile_all(root: Path = TRANSLATIONS) -> list[Path]:
    """Every language's `.mo` and `script.json`, next to its `.po`."""
    written = []
    for lang in LANGUAGES:
        if lang == DEFAULT_LANGUAGE or not po_path(lang, root).exists():
            continue
        for name, body in compiled(read(lang, root)).items():
            path = po_path(lang, root).with_name(name)
            path.write_bytes(body)
            written.append(path)
    return written
