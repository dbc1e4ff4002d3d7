"""The use cases: what the API does, in domain terms, over any `Store`.

Each write emits the change events it caused to `on_change`: locally that is
the site build, right away; on AWS it does nothing, because the DynamoDB
stream carries the same facts to the render function.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from . import auth
from .domain import (
    PASSWORD_MAX,
    BadRequest,
    Event,
    Followed,
    Forbidden,
    Idempotency,
    Message,
    NotFound,
    Notification,
    Post,
    PostCreated,
    PostDeleted,
    StaleUser,
    TooManyAttempts,
    Unfollowed,
    User,
    UserCreated,
    ValidationError,
    new_id,
    normalize_email,
    user_changes,
    username_key,
    utcnow,
    validate_about_me,
    validate_body,
    validate_fields,
    validate_message,
    validate_password,
    validate_username,
)
from .i18n import N_
from .markup import detect_language, plain_text, render_markdown
from .store import Store


def new_post(author_id: str, body: str, language: str | None = None, at=None) -> Post:
    """A valid post, its Markdown rendered and sanitized once, its language
    detected unless given (demo data knows it). `at` backdates it (seeding)."""
    body = validate_body(body)
    html = render_markdown(body)
    if not html.strip():
        raise ValidationError(N_("Say something: a post cannot be empty."), "body")
    if language is None:
        language = detect_language(plain_text(html))  # not the Markdown marks
    if at is None:  # now: the monotonic id keeps same-millisecond posts in order
        return Post(new_id(), author_id, body, html, language, utcnow())
    return Post(new_id(at), author_id, body, html, language, at)


log = logging.getLogger(__name__)

LAST_SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Limit:
    """At most `attempts` per fixed `window` for one key."""

    attempts: int
    window: timedelta


# The throttling policy (the README states it). Every attempt is counted in
# the store, atomically and before the password is checked, so racing
# requests cannot get more checks than the limit, and the counts hold across
# processes and Lambda instances. Counting per account *and* address means a
# stranger who guesses wrong locks out only themselves; the per-account limit
# bounds guessing from many addresses, and a password reset lifts it.
LOGIN_PAIR = Limit(5, timedelta(minutes=15))  # one account from one address
LOGIN_ADDRESS = Limit(20, timedelta(minutes=15))  # failed logins from one address
LOGIN_ACCOUNT = Limit(100, timedelta(minutes=15))  # failed logins of one account
RESET_EMAIL = Limit(3, timedelta(hours=1))  # reset mails to one address
RESET_ADDRESS = Limit(10, timedelta(hours=1))  # reset requests from one client
REGISTER_ADDRESS = Limit(10, timedelta(hours=1))  # sign-ups from one client

LOGIN_THROTTLED = N_("Too many failed login attempts; try again later.")
RESET_THROTTLED = N_("Too many password reset requests; try again later.")
REGISTER_THROTTLED = N_("Too many sign-ups from your address; try again later.")
USERNAME_INPUT_MAX = 64  # longer names cannot exist: not looked up, not hashed


def _name(text: str) -> str:
    """A bounded key part for any text a caller sends (a name of any length,
    even with lone surrogates): what is counted, never shown."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def login_keys(username: str, address: str) -> dict[str, Limit]:
    """The throttle keys of a login: the pair first, so a refused pair counts nothing else."""
    account = _name(username_key(username or ""))
    return {
        f"login:{account}@{address}": LOGIN_PAIR,
        f"login-from:{address}": LOGIN_ADDRESS,
        f"login:{account}": LOGIN_ACCOUNT,
    }


@dataclass
class Microblog:
    store: Store
    tokens: auth.Tokens
    on_change: Callable[[list[Event]], object] = field(default=lambda events: None)

    def _emit(self, *events: Event) -> None:
        """Hand what changed to the site build, after the write succeeded
        (nothing when the write changed nothing pages show)."""
        if events:
            self.on_change(list(events))

    # ------------------------------------------------------------ accounts

    def _take(self, keys: dict[str, Limit], message: str) -> None:
        """Count one attempt on every key, or on none: raises TooManyAttempts
        (and takes back what it counted) when one of them is at its limit."""
        now = utcnow()
        taken = []
        for key, limit in keys.items():
            throttle = self.store.take_attempt(key, limit.attempts, limit.window, now)
            if not throttle.allowed:
                for earlier in taken:
                    self.store.refund_attempt(earlier, now)
                wait = (throttle.until - now).total_seconds() if throttle.until else 1
                raise TooManyAttempts(max(1, math.ceil(wait)), message)
            taken.append(key)

    def register(self, username: str, email: str, password: str, address: str = "") -> User:
        """A new account; with `address`, sign-ups from one client are throttled
        (every attempt counts, also one refused for a taken name)."""
        if address:
            self._take({f"register-from:{address}": REGISTER_ADDRESS}, REGISTER_THROTTLED)
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
        """`authenticate`, throttled (see LOGIN_PAIR and the limits after it).
        The attempt is counted before the password is checked; a right
        password takes it back from the address and the account and clears
        the pair. A wrong password and an unknown user count (and answer) the same."""
        keys = login_keys(username, address)
        self._take(keys, LOGIN_THROTTLED)
        user = self.authenticate(username, password)
        if user is None:
            return None
        now = utcnow()
        pair, *others = keys
        self.store.clear_attempts(pair)
        for key in others:
            self.store.refund_attempt(key, now)
        return user

    def forget_failures(self, username: str, address: str) -> None:
        """Lift the login throttle of an account (all addresses) and of its
        pair with `address`: after a password reset the owner gets in at once."""
        pair, _, account = login_keys(username, address)
        self.store.clear_attempts(pair)
        self.store.clear_attempts(account)

    def touch(self, user: User) -> User:
        """Record that the user was seen, at most once a minute (not a write
        per request). Never fails the request it is called from. No page
        shows the time (the profile gets it from the API); the user's card
        shows the day, so the first visit of a day (UTC) re-renders the card
        alone (`UserSeen`)."""
        now = utcnow()
        if now - user.last_seen < LAST_SEEN_EVERY:
            return user
        try:
            updated = self.store.update_user(user.id, {"last_seen": now})
        except Exception:
            log.exception("could not record last_seen for %s", user.id)
            return user
        self._emit(*user_changes(updated, user))
        return updated

    def authenticate(self, username: str, password: str) -> User | None:
        """The user, when the password is right; None otherwise (same cost
        either way). Inputs too long to be right are refused unhashed."""
        username, password = username or "", password or ""
        if len(username) > USERNAME_INPUT_MAX or len(password) > PASSWORD_MAX:
            return None
        user = self.store.get_user_by_username(username)
        return user if auth.check_password(user, password) else None

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

    def request_password_reset(self, email: str, address: str) -> None:
        """Count a reset request against the address asking and the e-mail
        address asked for (known or not, so the limit tells nothing); raises
        TooManyAttempts past either limit. The mail itself is `reset_mail_for`."""
        self._take(
            {
                f"reset-from:{address}": RESET_ADDRESS,
                f"reset:{_name(email.strip().casefold())}": RESET_EMAIL,
            },
            RESET_THROTTLED,
        )

    def reset_password(self, token: str, password: str, address: str = "") -> User:
        """Set a new password with a reset token. The token version is bumped,
        which spends this token and logs out every session; the account's
        login throttle is lifted (and its pair with `address`)."""
        user = self.user_for_token(token, auth.RESET)
        validate_password(password)
        changes = {
            "password_hash": auth.hash_password(password),
            "token_version": user.token_version + 1,
        }
        try:  # two uses of one link racing: only the first one wins
            updated = self.store.update_user(user.id, changes, if_token_version=user.token_version)
        except StaleUser:
            raise auth.InvalidToken("The reset link has already been used.") from None
        try:  # the reset is done; failing to lift the throttle must not undo that answer
            self.forget_failures(updated.username, address)
        except Exception:
            log.exception("could not lift the login throttle of %s", updated.id)
        return updated

    def user_for_token(self, token: str, kind: str) -> User:
        """The user a token stands for; raises auth.InvalidToken otherwise."""
        claims = self.tokens.read(token, kind)
        return self.tokens.verify(claims, self.store.get_user(claims.user_id))

    def require_user(self, user_id: str) -> User:
        user = self.store.get_user(user_id)
        if user is None:
            raise NotFound(N_("User not found."))
        return user

    # ------------------------------------------------------------ posts

    def create_post(self, author: User, body: str, idempotency_key: str | None = None) -> Post:
        """Publish a post. With an `idempotency_key` (a client's retry of one
        submission), a key already used answers with the post it made: a
        retried request never posts twice."""
        idempotency = None
        if idempotency_key is not None:
            digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
            idempotency = Idempotency(author.id, idempotency_key, digest)
        fresh = new_post(author.id, body)
        post = self.store.create_post(fresh, idempotency)
        if post.id == fresh.id:  # not a replay: its pages and feeds are new
            self._emit(PostCreated.of(post))
        return post

    def require_post(self, post_id: str) -> Post:
        post = self.store.get_post(post_id)
        if post is None:
            raise NotFound(N_("Post not found."))
        return post

    def delete_post(self, user: User, post_id: str) -> None:
        """Delete one's own post; its pages are re-rendered without it."""
        post = self.require_post(post_id)
        if post.author_id != user.id:
            raise Forbidden(N_("You can only delete your own posts."))
        if self.store.delete_post(post.id) is not None:
            self._emit(PostDeleted.of(post))

    # ------------------------------------------------------------ profile

    def update_profile(
        self,
        user: User,
        username: str | None = None,
        email: str | None = None,
        about_me: str | None = None,
        password: str | None = None,
        current_password: str | None = None,
        address: str = "",
    ) -> User:
        """Change what the user may change about themselves (the tutorial's
        Edit Profile, plus e-mail and password as its API allows).

        A new e-mail or password needs the current password (checked under
        the login throttle) and bumps the token version: outstanding reset
        links, which went to the old address, are spent, and every other
        session ends (the caller gets a new one)."""
        previous = self.require_user(user.id)
        changes: dict = {}
        if username is not None:
            changes["username"] = validate_username(username)
        if email is not None and normalize_email(email) != previous.email:
            changes["email"] = normalize_email(email)
        if about_me is not None:
            changes["about_me"] = validate_about_me(about_me)
        if password is not None:
            changes["password_hash"] = auth.hash_password(validate_password(password))
        if not changes:
            return previous
        version = None
        if "email" in changes or "password_hash" in changes:
            if not current_password:
                raise ValidationError(
                    N_("Give your current password to change your e-mail or password."),
                    "current_password",
                )
            if self.log_in(previous.username, current_password, address) is None:
                raise Forbidden(N_("Your current password is wrong."), "current_password")
            version = previous.token_version
            changes["token_version"] = version + 1
        try:
            updated = self.store.update_user(user.id, changes, if_token_version=version)
        except StaleUser:  # a logout or reset came first: this session is void
            raise auth.InvalidToken("token revoked") from None
        self._emit(*user_changes(updated, previous))
        return updated

    # ------------------------------------------------------------ follows

    def follow(self, user: User, target_id: str) -> User:
        """Follow `target_id` (idempotent); returns the followed user."""
        if target_id == user.id:
            raise BadRequest(N_("You cannot follow yourself!"))
        target = self.require_user(target_id)
        if self.store.follow(user.id, target.id):
            self._emit(Followed(user.id, target.id))
        return target

    def unfollow(self, user: User, target_id: str) -> User:
        """Stop following `target_id` (idempotent); returns that user."""
        if target_id == user.id:
            raise BadRequest(N_("You cannot unfollow yourself!"))
        target = self.require_user(target_id)
        if self.store.unfollow(user.id, target.id):
            self._emit(Unfollowed(user.id, target.id))
        return target

    # ------------------------------------------------------------ messages
    # Private messages change no page: nothing is emitted to the site build.

    def send_message(self, sender: User, recipient_name: str, body: str) -> tuple[Message, User]:
        """Send `body` to the user named `recipient_name`; the message and its
        recipient. Messaging oneself is refused, as following oneself is: the
        UI never offers it, and it would only make one's own badge count."""
        body = validate_message(body)
        recipient = self.store.get_user_by_username(recipient_name or "")
        if recipient is None:
            raise NotFound("User not found.")
        if recipient.id == sender.id:
            raise BadRequest(N_("You cannot send a message to yourself!"))
        message = self.store.send_message(Message.new(sender.id, recipient.id, body))
        return message, recipient

    def read_messages(self, user: User) -> int:
        """The tutorial's `last_message_read_time = now`: clears the unread
        count (its badge, in every tab at their next poll); how many it cleared."""
        return self.store.mark_messages_read(user.id)

    def notifications(self, user: User, since: float = 0) -> list[Notification]:
        """What the user's pages show live and that changed after `since`."""
        return self.store.notifications(user.id, since)
