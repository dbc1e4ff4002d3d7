"""The use cases: what the API does, in domain terms, over any `Store`.

Each write emits the change events it caused to `on_change`: locally that is
the site build, right away; on AWS it does nothing, because the DynamoDB
stream carries the same facts to the render function.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from . import auth
from .domain import (
    BadRequest,
    Event,
    Followed,
    Forbidden,
    NotFound,
    Post,
    PostCreated,
    PostDeleted,
    StaleUser,
    TooManyAttempts,
    Unfollowed,
    User,
    UserCreated,
    UserUpdated,
    ValidationError,
    new_id,
    normalize_email,
    username_key,
    utcnow,
    validate_about_me,
    validate_body,
    validate_fields,
    validate_password,
    validate_username,
)
from .markup import detect_language, plain_text, render_markdown
from .store import Store


def new_post(author_id: str, body: str, language: str | None = None, at=None) -> Post:
    """A valid post, its Markdown rendered and sanitized once, its language
    detected unless given (demo data knows it). `at` backdates it (seeding)."""
    body = validate_body(body)
    html = render_markdown(body)
    if not html.strip():
        raise ValidationError("Say something: a post cannot be empty.", "body")
    if language is None:
        language = detect_language(plain_text(html))  # not the Markdown marks
    if at is None:  # now: the monotonic id keeps same-millisecond posts in order
        return Post(new_id(), author_id, body, html, language, utcnow())
    return Post(new_id(at), author_id, body, html, language, at)


log = logging.getLogger(__name__)

LOGIN_WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 5  # failed logins per account per window
ADDRESS_FAILURES = 20  # failed logins per client address per window
LAST_SEEN_EVERY = timedelta(minutes=1)


@dataclass
class Microblog:
    store: Store
    tokens: auth.Tokens
    on_change: Callable[[list[Event]], object] = field(default=lambda events: None)

    def _emit(self, *events: Event) -> None:
        """Hand what changed to the site build, after the write succeeded."""
        self.on_change(list(events))

    # ------------------------------------------------------------ accounts

    def register(self, username: str, email: str, password: str) -> User:
        validate_fields(  # every field's problem at once, before the slow hash
            username=(validate_username, username),
            email=(normalize_email, email),
            password=(validate_password, password),
        )
        user = User.new(username, email, auth.hash_password(password))
        self.store.create_user(user)
        self._emit(UserCreated(user.id))
        return self.require_user(user.id)

    def log_in(self, username: str, password: str, address: str) -> User | None:
        """`authenticate`, throttled per account and per client address; the
        counts live in the store, so they hold across processes. A wrong
        password and an unknown user count (and answer) the same."""
        now = utcnow()
        keys = {
            f"user:{username_key(username or '')}": ACCOUNT_FAILURES,
            f"ip:{address}": ADDRESS_FAILURES,
        }
        for key, limit in keys.items():
            throttle = self.store.login_throttle(key, now)
            if throttle.count >= limit:
                raise TooManyAttempts(math.ceil((throttle.until - now).total_seconds()))
        user = self.authenticate(username, password)
        if user is None:
            for key in keys:
                self.store.record_login_failure(key, LOGIN_WINDOW, now)
            return None
        self.store.clear_login_failures(next(iter(keys)))
        return user

    def touch(self, user: User) -> User:
        """Record that the user was seen, at most once a minute (not a write
        per request). Never fails the request it is called from."""
        now = utcnow()
        if now - user.last_seen < LAST_SEEN_EVERY:
            return user
        try:
            updated = self.store.update_user(user.id, {"last_seen": now})
            self._emit(UserUpdated.of(updated, user))
        except Exception:
            log.exception("could not record last_seen for %s", user.id)
            return user
        return updated

    def authenticate(self, username: str, password: str) -> User | None:
        """The user, when the password is right; None otherwise (same cost either way)."""
        user = self.store.get_user_by_username(username or "")
        return user if auth.check_password(user, password or "") else None

    def revoke_tokens(self, user: User) -> User:
        """Invalidate every session and API token the user holds. When another
        writer bumps the version first, those tokens are already void."""
        fresh = self.require_user(user.id)
        version = fresh.token_version
        try:
            return self.store.update_user(
                user.id, {"token_version": version + 1}, if_token_version=version
            )
        except StaleUser:
            return self.require_user(user.id)

    def reset_token(self, user: User) -> str:
        """A link token for a forgotten password: valid 10 minutes, once."""
        return self.tokens.issue(user, auth.RESET)

    def reset_password(self, token: str, password: str) -> User:
        """Set a new password with a reset token. The token version is bumped,
        which spends this token and logs out every session."""
        user = self.user_for_token(token, auth.RESET)
        validate_password(password)
        changes = {
            "password_hash": auth.hash_password(password),
            "token_version": user.token_version + 1,
        }
        try:  # two uses of one link racing: only the first one wins
            return self.store.update_user(user.id, changes, if_token_version=user.token_version)
        except StaleUser:
            raise auth.InvalidToken("The reset link has already been used.") from None

    def user_for_token(self, token: str, kind: str) -> User:
        """The user a token stands for; raises auth.InvalidToken otherwise."""
        claims = self.tokens.read(token, kind)
        return self.tokens.verify(claims, self.store.get_user(claims.user_id))

    def require_user(self, user_id: str) -> User:
        user = self.store.get_user(user_id)
        if user is None:
            raise NotFound("User not found.")
        return user

    # ------------------------------------------------------------ posts

    def create_post(self, author: User, body: str) -> Post:
        post = self.store.create_post(new_post(author.id, body))
        self._emit(PostCreated.of(post))
        return post

    def require_post(self, post_id: str) -> Post:
        post = self.store.get_post(post_id)
        if post is None:
            raise NotFound("Post not found.")
        return post

    def delete_post(self, user: User, post_id: str) -> None:
        """Delete one's own post; its pages are re-rendered without it."""
        post = self.require_post(post_id)
        if post.author_id != user.id:
            raise Forbidden("You can only delete your own posts.")
        if self.store.delete_post(post.id) is not None:
            self._emit(PostDeleted.of(post))

    # ------------------------------------------------------------ profile

    def update_profile(
        self,
        user: User,
        username: str | None = None,
        email: str | None = None,
        about_me: str | None = None,
    ) -> User:
        """Change what the user may change about themselves (the tutorial's
        Edit Profile, plus e-mail as its API allows)."""
        previous = self.require_user(user.id)
        changes = {}
        if username is not None:
            changes["username"] = validate_username(username)
        if email is not None:
            changes["email"] = normalize_email(email)
        if about_me is not None:
            changes["about_me"] = validate_about_me(about_me)
        if not changes:
            return previous
        updated = self.store.update_user(user.id, changes)
        if updated != previous:
            self._emit(UserUpdated.of(updated, previous))
        return updated

    # ------------------------------------------------------------ follows

    def follow(self, user: User, target_id: str) -> User:
        """Follow `target_id` (idempotent); returns the followed user."""
        if target_id == user.id:
            raise BadRequest("You cannot follow yourself!")
        target = self.require_user(target_id)
        if self.store.follow(user.id, target.id):
            self._emit(Followed(user.id, target.id))
        return target

    def unfollow(self, user: User, target_id: str) -> User:
        """Stop following `target_id` (idempotent); returns that user."""
        if target_id == user.id:
            raise BadRequest("You cannot unfollow yourself!")
        target = self.require_user(target_id)
        if self.store.unfollow(user.id, target.id):
            self._emit(Unfollowed(user.id, target.id))
        return target
