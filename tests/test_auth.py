"""Passwords, tokens, reset links and the secret key."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import jwt
import pytest

from functions import auth
from functions.config import Settings
from functions.domain import User, ValidationError
from functions.services import Microblog
from functions.store.sqlite import SQLiteStore
from functions.wiring import secret_key

KEY = "k" * 48


@pytest.fixture
def tokens():
    return auth.Tokens(KEY)


@pytest.fixture
def user():
    return User.new("susan", "susan@example.com", auth.hash_password("cat-and-dog"))


@pytest.fixture
def microblog(tmp_path):
    store = SQLiteStore(tmp_path / "db.sqlite3")
    yield Microblog(store, auth.Tokens(KEY))
    store.close()


def test_password_hash_is_salted_and_checks(user):
    assert auth.hash_password("cat-and-dog") != auth.hash_password("cat-and-dog")
    assert user.password_hash.startswith("scrypt:")
    assert auth.check_password(user, "cat-and-dog")
    assert not auth.check_password(user, "dog-and-cat")
    assert not auth.check_password(None, "cat-and-dog")


def test_a_token_reads_back_its_user_and_version(tokens, user):
    claims = tokens.read(tokens.issue(user, auth.SESSION), auth.SESSION)
    assert (claims.user_id, claims.version) == (user.id, user.token_version)
    assert tokens.verify(claims, user) is user


def test_bumping_the_token_version_revokes(tokens, user):
    claims = tokens.read(tokens.issue(user, auth.API), auth.API)
    with pytest.raises(auth.InvalidToken):
        tokens.verify(claims, user.replace(token_version=user.token_version + 1))
    with pytest.raises(auth.InvalidToken):
        tokens.verify(claims, None)


def test_an_expired_token_is_refused(tokens, user):
    token = tokens.issue(user, auth.API, lifetime=timedelta(seconds=-1))
    with pytest.raises(auth.InvalidToken):
        tokens.read(token, auth.API)


def test_a_token_of_another_kind_is_refused(tokens, user):
    with pytest.raises(auth.InvalidToken):
        tokens.read(tokens.issue(user, auth.RESET), auth.SESSION)


@pytest.mark.parametrize("algorithm", ["none", "HS512", "HS384"])
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # forged on purpose
def test_only_hs256_is_accepted(tokens, user, algorithm):
    claims = {"sub": user.id, "ver": 0, "typ": auth.API, "iat": 0, "exp": 4102444800}
    forged = jwt.encode(claims, None if algorithm == "none" else KEY, algorithm=algorithm)
    with pytest.raises(auth.InvalidToken):
        tokens.read(forged, auth.API)


def test_a_token_signed_with_another_key_is_refused(user):
    other = auth.Tokens("o" * 48).issue(user, auth.API)
    with pytest.raises(auth.InvalidToken):
        auth.Tokens(KEY).read(other, auth.API)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30.e30"])
def test_garbage_tokens_are_refused(tokens, garbage):
    with pytest.raises(auth.InvalidToken):
        tokens.read(garbage, auth.API)


def test_a_short_secret_key_is_refused():
    with pytest.raises(ValueError):
        auth.Tokens("short")


def test_reset_tokens_last_ten_minutes():
    assert auth.LIFETIMES[auth.RESET] == timedelta(minutes=10)


def test_a_reset_token_sets_the_password_once(microblog):
    user = microblog.register("susan", "susan@example.com", "cat-and-dog")
    token = microblog.reset_token(user)
    microblog.reset_password(token, "new-password-1")
    assert microblog.authenticate("susan", "new-password-1")
    assert not microblog.authenticate("susan", "cat-and-dog")
    with pytest.raises(auth.InvalidToken):
        microblog.reset_password(token, "new-password-2")
    assert microblog.authenticate("susan", "new-password-1")


def test_a_reset_logs_out_every_session(microblog):
    user = microblog.register("susan", "susan@example.com", "cat-and-dog")
    session = microblog.tokens.issue(user, auth.SESSION)
    microblog.reset_password(microblog.reset_token(user), "new-password-1")
    with pytest.raises(auth.InvalidToken):
        microblog.user_for_token(session, auth.SESSION)


def test_a_reset_still_checks_the_new_password(microblog):
    user = microblog.register("susan", "susan@example.com", "cat-and-dog")
    token = microblog.reset_token(user)
    with pytest.raises(ValidationError):
        microblog.reset_password(token, "short")
    microblog.reset_password(token, "long-enough")  # the token was not spent


def test_the_secret_key_is_generated_once_private_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    first = secret_key(Settings.from_env())
    path = tmp_path / "var" / "secret_key"
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_key(Settings.from_env()) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temp left


def test_the_secret_key_comes_from_the_environment_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SECRET_KEY", "e" * 40)
    assert secret_key(Settings.from_env()) == "e" * 40
    assert not (tmp_path / "var" / "secret_key").exists()
