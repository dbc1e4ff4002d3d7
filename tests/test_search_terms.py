"""Search terms: folding, words, stem keys, shards (functions/sitegen/terms.py)."""

from __future__ import annotations

import hashlib

import pytest

from functions.sitegen.terms import fold, key, post_terms, shard_of, words


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("RUNNING", "running"),
        ("Café", "cafe"),
        ("cafe\u0301", "cafe"),  # decomposed accent
        ("ﬁne", "fine"),  # NFKC: the ligature is two letters
        ("\uff37\uff49\uff44\uff45", "wide"),  # NFKC: full-width letters
        ("Straße", "strasse"),
        ("ΚΟΣΜΟΣ", "κοσμοσ"),  # no final-sigma form
        ("Ñandú", "nandu"),
        ("İstanbul", "istanbul"),
    ],
)
def test_fold_ignores_case_accents_and_compatibility_forms(text, folded):
    assert fold(text) == folded


def test_words_are_runs_of_letters_and_digits():
    assert words("Hello, wörld! 42 times_two e-mail") == [
        "hello",
        "world",
        "42",
        "times",
        "two",
        "e",
        "mail",
    ]


def test_words_keep_scripts_without_spaces_whole_and_drop_overlong_runs():
    assert words("東京タワー") == ["東京タワー"]
    assert words("a" * 41 + " ok") == ["ok"]


def test_keys_are_per_language_stems():
    assert key("running", "en") == key("runs", "en") == "en:run"
    assert key("canciones", "es") == "es:cancion"
    assert key("laufen", "de") != key("laufen", "en")  # the language keeps them apart
    assert key("東京", "ja") == "ja:東京"  # no Snowball stemmer: the word itself


def test_post_terms_map_each_distinct_word_to_its_key():
    assert post_terms("Cats and CATS, cat.", "en") == {
        "cats": "en:cat",
        "and": "en:and",
        "cat": "en:cat",
    }


def test_shards_are_stable_and_spread():
    assert shard_of("en:run", 256) == shard_of("en:run", 256)
    # Fixed by SHA-256 (the browser computes the same): a change here is a new index.
    digest = hashlib.sha256(b"en:run").digest()
    assert shard_of("en:run", 256) == int.from_bytes(digest[:4], "big") % 256
    used = {shard_of(f"en:word{i}", 64) for i in range(1000)}
    assert len(used) == 64
