"""Domain rules and post rendering: no I/O."""

from __future__ import annotations

import pytest

from functions.domain import (
    User,
    ValidationError,
    format_time,
    new_id,
    parse_time,
    utcnow,
    validate_body,
    validate_password,
    validate_username,
)
from functions.markup import plain_text, render_markdown
from functions.services import new_post


@pytest.mark.parametrize("name", ["abc", "Susan_1", "a.b-c", "x" * 32])
def test_valid_usernames(name):
    assert validate_username(name) == name


@pytest.mark.parametrize("name", ["ab", "x" * 33, "has space", "émile", "a/b", "", "<b>"])
def test_invalid_usernames_name_the_field(name):
    with pytest.raises(ValidationError) as err:
        validate_username(name)
    assert err.value.field == "username"


def test_email_is_validated_and_normalized():
    user = User.new("susan", "  Susan@Example.COM ", "hash")
    assert user.email == "Susan@example.com"  # the domain part is lower-cased
    for bad in ("no-at-sign", "a@b", "a@@example.com", ""):
        with pytest.raises(ValidationError) as err:
            User.new("susan", bad, "hash")
        assert err.value.field == "email"


def test_password_needs_8_characters():
    assert validate_password("12345678")
    with pytest.raises(ValidationError):
        validate_password("1234567")


def test_post_body_is_1_to_500_characters_after_trimming():
    assert validate_body("  hi  ") == "hi"
    assert validate_body("x" * 500)
    for bad in ("", "   \n", "x" * 501):
        with pytest.raises(ValidationError):
            validate_body(bad)


def test_ids_sort_by_creation_even_within_one_millisecond():
    ids = [new_id() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000


def test_times_round_trip_as_utc_with_z():
    now = utcnow()
    text = format_time(now)
    assert text.endswith("Z") and parse_time(text) == now


def test_markdown_is_rendered_and_links_are_nofollow():
    html = render_markdown("*hi* [site](https://example.com)\n\n- a\n- b")
    assert "<em>hi</em>" in html and "<ul>" in html
    assert 'rel="nofollow noopener"' in html


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        '<a href="#" onclick="alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        '<img src="x" onerror="alert(1)">',
        "<style>body{display:none}</style>",
    ],
)
def test_dangerous_markup_is_removed(body):
    html = render_markdown(body)
    for bad in ("<script", "javascript:", "onclick", "<iframe", "onerror", "<style", "<img"):
        assert bad not in html


def test_a_posts_language_is_read_from_its_words_not_its_markdown():
    post = new_post("u1", "Hello **world**, see [this](https://example.com/it/?a=1&b=2)!")
    assert post.language == "en"
    assert plain_text(post.body_html) == "Hello world, see this!"
