"""The static search index: sharded JSON files the browser fetches by term.

No search server: the site build writes an inverted index next to the
pages, and the search page (`/search/?q=...`, app.js) reads the few files
a query needs. Two kinds of shard, each a JSON object:

- lexicon shard `search/w/<i>.json` (i = `terms.shard_of(word, LEXICON_SHARDS)`):
  folded word -> the keys it was filed under (`terms.key`: language and
  stem), e.g. `{"running": ["en:run"]}`. It spares the browser stemming:
  a query word is only folded.
- postings shard `search/t/<i>.json` (i = `terms.shard_of(key, POSTINGS_SHARDS)`):
  key -> `{"n": [...], "w": {word: count}}`: "n" the explore numbers of
  the posts with the key, newest first, the first one whole and each next
  one as its distance from the one before (small numbers); "w" how many of
  those posts file each folded word under the key. The counts let a delete
  tell when a word leaves its last post (and so the lexicon), and live in
  the shard a post touches anyway: a new post rewrites the postings shards
  of its keys and only the lexicon shards of (word, key) pairs new to the
  site.

Results are explore numbers, newest first; the browser shows each by the
`_post.html` article the explore archive page holding that number already
has (`data-explore`), so there is no second copy of a post.

The index is a function of the numbered posts: a full build (each build
shard writing the index shards it owns, `build_index`) and any sequence of
incremental updates (`update`, read-modify-write through the publisher)
give the same bytes (tests/sitegen/test_search.py). Updates must not race:
the local builder holds one lock around every build and change, and on AWS
the render function, the only writer, has reserved concurrency 1. A change
delivered twice changes nothing more: a post already in (or already gone
from) a key's postings is skipped for that key. Lexicon shards are written
before postings shards, so a writer stopped between the two errs towards a
lexicon entry too many (a word whose query finds its stem's other posts),
never towards a word that cannot be found; the next full build rewrites all.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from .. import urls
from ..domain import Event, Post, PostCreated, PostDeleted
from ..store import Store
from .data import SiteData, StoreData
from .pages import SITEMAP_CHUNK
from .publish import Publisher
from .render import Output
from .terms import LEXICON_SHARDS, POSTINGS_SHARDS, post_terms, shard_of

# Where the index's shards are, in the site.
INDEX_PREFIXES = (urls.SEARCH_LEXICON.lstrip("/"), urls.SEARCH_POSTINGS.lstrip("/"))


@dataclass
class Entry:
    """One key's postings: explore numbers, and posts per folded word."""

    numbers: set[int] = field(default_factory=set)
    words: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------ the files


def postings_path(shard: int) -> str:
    return urls.output_path(urls.search_postings(shard))


def lexicon_path(shard: int) -> str:
    return urls.output_path(urls.search_lexicon(shard))


def _dump(value: object) -> bytes:
    """Canonical JSON: the same index gives the same bytes, whoever wrote it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def encode_postings(entries: dict[str, Entry]) -> bytes | None:
    """A postings shard's bytes; None when it holds nothing (no file)."""
    shard = {}
    for key, entry in entries.items():
        if not entry.numbers:
            continue
        numbers = sorted(entry.numbers, reverse=True)
        gaps = [numbers[0]] + [a - b for a, b in pairwise(numbers)]
        shard[key] = {"n": gaps, "w": entry.words}
    return _dump(shard) if shard else None


def decode_postings(body: bytes | None) -> dict[str, Entry]:
    entries = {}
    for key, value in (json.loads(body) if body else {}).items():
        numbers, last = set(), 0
        for i, gap in enumerate(value["n"]):
            last = gap if i == 0 else last - gap
            numbers.add(last)
        entries[key] = Entry(numbers, dict(value["w"]))
    return entries


def encode_lexicon(words: dict[str, set[str]]) -> bytes | None:
    shard = {word: sorted(keys) for word, keys in words.items() if keys}
    return _dump(shard) if shard else None


def decode_lexicon(body: bytes | None) -> dict[str, set[str]]:
    return {word: set(keys) for word, keys in (json.loads(body) if body else {}).items()}


def _output(path: str, body: bytes | None) -> Output:
    return Output("/" + path, body)


# ------------------------------------------------------------ the full build


def owned(shard_index: int, shard_count: int, shards: int) -> range:
    """The index shards (of `shards`) build shard I/N writes: every Nth."""
    return range(shard_index - 1, shards, shard_count)


def numbered_posts(store: Store, last: int) -> Iterator[Post]:
    """Every post numbered 1..last, a chunk at a time (memory: one chunk)."""
    data = StoreData(store)
    for first in range(1, last + 1, SITEMAP_CHUNK):
        yield from data.explore_by_seq(first, min(first + SITEMAP_CHUNK - 1, last))


def build_index(posts: Iterable[Post], shard_index: int = 1, shard_count: int = 1) -> list[Output]:
    """The index shards build shard `shard_index`/`shard_count` owns, from
    every numbered post (each build shard reads them all and keeps its own
    keys and words: memory is its share of the index). The shards it owns
    that would be empty come back with no body (removed if there)."""
    postings_owned = set(owned(shard_index, shard_count, POSTINGS_SHARDS))
    lexicon_owned = set(owned(shard_index, shard_count, LEXICON_SHARDS))
    postings: dict[int, dict[str, Entry]] = defaultdict(lambda: defaultdict(Entry))
    lexicon: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    key_shard: dict[str, int] = {}
    word_shard: dict[str, int] = {}
    for post in posts:
        if not post.explore_seq:
            continue
        for word, key in post_terms(post.body, post.language).items():
            k = key_shard.get(key)
            if k is None:
                k = key_shard[key] = shard_of(key, POSTINGS_SHARDS)
            if k in postings_owned:
                entry = postings[k][key]
                entry.numbers.add(post.explore_seq)
                entry.words[word] = entry.words.get(word, 0) + 1
            w = word_shard.get(word)
            if w is None:
                w = word_shard[word] = shard_of(word, LEXICON_SHARDS)
            if w in lexicon_owned:
                lexicon[w][word].add(key)
    outputs = [
        _output(lexicon_path(i), encode_lexicon(lexicon.get(i, {}))) for i in sorted(lexicon_owned)
    ]
    outputs += [
        _output(postings_path(i), encode_postings(postings.get(i, {})))
        for i in sorted(postings_owned)
    ]
    return outputs


# ------------------------------------------------------------ incremental


@dataclass(frozen=True)
class _Change:
    """A post to file (add) or withdraw, by explore number, with its terms."""

    add: bool
    number: int
    terms: dict[str, str]  # folded word -> key


def changes(events: Iterable[Event], data: SiteData) -> list[_Change]:
    """What the events do to the index, in order. A new post is filed once
    numbered (read from `data`: gone since means a later delete follows);
    a deleted one is withdrawn with the words its event carries, as the
    store no longer has it. A post deleted before it was numbered was
    never filed."""
    found = []
    for event in events:
        if isinstance(event, PostCreated) and event.explore_seq:
            post = data.post(event.post_id)
            if post is not None:
                terms = post_terms(post.body, post.language)
                found.append(_Change(True, event.explore_seq, terms))
        elif isinstance(event, PostDeleted) and event.explore_seq:
            terms = post_terms(event.body, event.language)
            found.append(_Change(False, event.explore_seq, terms))
    return found


def update(events: Iterable[Event], data: SiteData, publisher: Publisher) -> list[Output]:
    """The index shards these changes rewrite (read from `publisher`,
    changed, returned to be written): lexicon shards first."""
    todo = changes(events, data)
    if not todo:
        return []
    keys = {key for change in todo for key in change.terms.values()}
    postings = {
        i: decode_postings(publisher.read(postings_path(i)))
        for i in sorted({shard_of(key, POSTINGS_SHARDS) for key in keys})
    }
    lexicon_ops: list[tuple[bool, str, str]] = []  # (add, word, key), in order
    for change in todo:
        by_key: dict[str, list[str]] = defaultdict(list)
        for word, key in change.terms.items():
            by_key[key].append(word)
        for key, words in by_key.items():
            entries = postings[shard_of(key, POSTINGS_SHARDS)]
            entry = entries.setdefault(key, Entry())
            if (change.number in entry.numbers) == change.add:
                continue  # delivered before: already done for this key
            if change.add:
                entry.numbers.add(change.number)
            else:
                entry.numbers.discard(change.number)
            for word in words:
                count = entry.words.get(word, 0) + (1 if change.add else -1)
                if count > 0:
                    entry.words[word] = count
                else:
                    entry.words.pop(word, None)
                if count == (1 if change.add else 0):  # the pair is new, or gone
                    lexicon_ops.append((change.add, word, key))
            if not entry.numbers:
                del entries[key]
    lexicon = {
        i: decode_lexicon(publisher.read(lexicon_path(i)))
        for i in sorted({shard_of(word, LEXICON_SHARDS) for _, word, _ in lexicon_ops})
    }
    for add, word, key in lexicon_ops:
        keys_of = lexicon[shard_of(word, LEXICON_SHARDS)].setdefault(word, set())
        if add:
            keys_of.add(key)
        else:
            keys_of.discard(key)
    outputs = [_output(lexicon_path(i), encode_lexicon(words)) for i, words in lexicon.items()]
    outputs += [_output(postings_path(i), encode_postings(e)) for i, e in postings.items()]
    return outputs
