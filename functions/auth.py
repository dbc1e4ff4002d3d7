"""Passwords and tokens.

Passwords are hashed with Werkzeug (scrypt). Session cookies, API tokens and
password-reset links are all HS256 JWTs signed with the secret key; each
carries the user's `token_version`, so bumping it (logout everywhere,
password change) revokes every token issued before. A reset token is
single-use for the same reason: resetting the password bumps the version.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import jwt

from .domain import User, utcnow

ALGORITHM = "HS256"

SESSION = "session"
API = "api"
RESET = "reset"

LIFETIMES = {
    SESSION: timedelta(days=30),
    API: timedelta(hours=1),
    RESET: timedelta(minutes=10),
}


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired, revoked or of another kind."""


# Werkzeug is imported where a password is hashed or checked, not with this
# module: most requests (and a cold start) need neither.


def hash_password(password: str) -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


@cache
def _nobody_hash() -> str:
    """A hash of a password nobody has, checked when there is no such user, so
    an unknown username costs the same time as a wrong password. Made on first
    use, not at import: hashing is slow on purpose, and a cold start need not pay."""
    return hash_password(secrets.token_urlsafe(16))


def check_password(user: User | None, password: str) -> bool:
    """True when `user` exists and `password` is theirs; takes the same
    time whether or not the user exists."""
    from werkzeug.security import check_password_hash

    if user is None:
        check_password_hash(_nobody_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)


@dataclass(frozen=True)
class Claims:
    user_id: str
    version: int
    kind: str


class Tokens:
    """Issues and checks the JWTs for one secret key."""

    def __init__(self, secret_key: str):
        if len(secret_key) < 32:
            raise ValueError("the secret key must be at least 32 characters")
        self._key = secret_key

    def issue(self, user: User, kind: str, lifetime: timedelta | None = None) -> str:
        now = utcnow()
        claims = {
            "sub": user.id,
            "ver": user.token_version,
            "typ": kind,
            "iat": now,
            "exp": now + (lifetime or LIFETIMES[kind]),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def read(self, token: str, kind: str) -> Claims:
        """The claims of a valid token of `kind`; does not check revocation
        (that needs the user: see `verify`)."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],  # pinned: alg=none and the others are refused
                options={"require": ["sub", "ver", "typ", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if claims["typ"] != kind or not isinstance(claims["ver"], int):
            raise InvalidToken("wrong kind of token")
        return Claims(str(claims["sub"]), claims["ver"], kind)

    @staticmethod
    def verify(claims: Claims, user: User | None) -> User:
        """The user a token stands for, unless the user is gone or revoked it."""
        if user is None or user.id != claims.user_id or user.token_version != claims.version:
            raise InvalidToken("token revoked")
        return user
