"""Fixtures of the browser tests: one real `build.py serve` on 127.0.0.1 for the
browser tests (each test makes its own users), one chromium, a fresh context
(cookies, storage) per test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import translate_server
from tests.server import serving

from .ui import CHROMIUM, launch, new_context

if not CHROMIUM.exists():  # infra/test installs Debian's chromium
    raise RuntimeError(f"{CHROMIUM} is missing: run infra/test, which installs chromium")

from playwright.sync_api import sync_playwright


@pytest.fixture(scope="package")
def translate_url() -> Iterator[str | None]:
    """The fake Amazon Translate endpoint."""
    with translate_server.serving() as url:
        yield url


@pytest.fixture(scope="package")
def stack(tmp_path_factory, translate_url) -> Iterator[dict]:
    """The local stack: its base URL and its folders."""
    root = tmp_path_factory.mktemp("stack")
    env = {
        "VAR_DIR": str(root / "var"),
        "SITE_DIR": str(root / "site"),
        "STORE": "sqlite",
        "SITE_URL": "",
        # Each test is a visitor with an address of its own (ui.visitor).
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    env.update(
        AWS_ENDPOINT_URL_TRANSLATE=translate_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    with serving(env, root / "serve.log") as base:
        yield {"base": base, "var": root / "var", "site": root / "site", "log": root / "serve.log"}


@pytest.fixture(scope="package")
def base(stack) -> str:
    return stack["base"]


@pytest.fixture(scope="package")
def outbox(stack) -> Path:
    return stack["var"] / "outbox"


@pytest.fixture(scope="package")
def browser():
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def make_context(browser, base):
    """`make_context(**options)`: a fresh browser context (own cookies), closed after the test."""
    contexts = []

    def make(**options):
        context = new_context(browser, base, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


@pytest.fixture
def page(make_context):
    return make_context().new_page()
