"""The words of a post, as the search index keys them, and which shard holds a key.

The browser finds a query's posts with no server and no build step, so
every rule here that it must repeat is one it can: `fold` and `words` have
a twin in `templates/static/app.js` (String.normalize, toLowerCase, the
same two extra folds, a `\\p{L}\\p{N}` word pattern), and `shard_of` is
SHA-256, which browsers have (crypto.subtle). Stemming is the one rule the
browser cannot repeat: the index's lexicon maps each folded word seen in a
post to the stem key(s) it was filed under (`sitegen.search`), so a query
word needs only folding.

- fold: Unicode NFKC, lowercased, then the folds lowercasing misses that
  matter in the stemmed languages (German ß, Greek final ς), then accents
  dropped (NFD minus nonspacing marks, recomposed with NFC).
- words: maximal runs of letters and digits of the folded text.
- key: `<language>:<stem>`, the word stemmed by Snowball in the post's
  detected language (or kept as is where Snowball has no stemmer); the
  language keeps two languages' equal stems apart.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

# How many shards of each kind the index has (`sitegen.search`), sized by
# bench/search.py (README, "Search"); the search page reads them from its
# data attributes.
POSTINGS_SHARDS = 256
LEXICON_SHARDS = 64

# Folds that `str.lower` (and JavaScript's toLowerCase) leave out: sharp s, final sigma.
EXTRA_FOLDS = str.maketrans({"\u00df": "ss", "\u1e9e": "ss", "\u03c2": "\u03c3"})
WORD = re.compile(r"[^\W_]+")
# Longer runs are not words anyone searches for (hashes, base64): not indexed.
MAX_WORD = 40

# ISO 639-1 code (functions.markup's detected `language`) -> Snowball algorithm.
STEMMERS = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


def fold(text: str) -> str:
    """Text as the index compares it: case and accents ignored."""
    text = unicodedata.normalize("NFKC", text).lower().translate(EXTRA_FOLDS)
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", bare)


def words(text: str) -> list[str]:
    """The folded words of `text`, in order, repeats included."""
    return [w for w in WORD.findall(fold(text)) if len(w) <= MAX_WORD]


@lru_cache(maxsize=64)
def _stemmer(language: str):
    """Snowball's stemmer for the language, or None (imported here: only
    the site build stems, never the API)."""
    name = STEMMERS.get(language)
    if name is None:
        return None
    import snowballstemmer

    return snowballstemmer.stemmer(name)


@lru_cache(maxsize=65536)
def key(word: str, language: str) -> str:
    """The index key a folded word of a post in `language` is filed under."""
    stemmer = _stemmer(language)
    stem = fold(stemmer.stemWord(word)) if stemmer else word
    return f"{language}:{stem or word}"


def post_terms(body: str, language: str) -> dict[str, str]:
    """Each distinct folded word of a post -> its key."""
    return {word: key(word, language) for word in dict.fromkeys(words(body))}


def shard_of(text: str, count: int) -> int:
    """The shard (0..count-1) of a word or key: the first four bytes of its
    UTF-8 SHA-256, big-endian, modulo `count`; stable everywhere."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % count
