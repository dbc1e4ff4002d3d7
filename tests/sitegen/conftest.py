"""Fixtures of the site build's tests: the local stack's SQLite store, and the
build writing into `settings.site_dir`, in English only: what these tests
check (paging, safety, shards) is the same in every language, and a second
language would double their time; test_languages.py builds both."""

from __future__ import annotations

import dataclasses

import pytest

from functions.store.sqlite import SQLiteStore
from functions.wiring import local_builder


@pytest.fixture
def settings(settings):
    """The local stack's settings, building the English pages only."""
    return dataclasses.replace(settings, languages=("en",))


@pytest.fixture
def store(settings):
    """The local stack's store (SQLite), empty."""
    store = SQLiteStore(settings.database)
    yield store
    store.close()


@pytest.fixture
def builder(settings, store):
    """The local build of `store` into `settings.site_dir` (two workers, as on
    the 2-core machines it runs on; a site under one batch renders in-process)."""
    return local_builder(settings, store, workers=2)
