"""Settings from the environment, and the objects they select (store, secret key).

Locally everything defaults to folders of the checkout: `var/` for run data,
`site/` for the built pages. On AWS the same names come from the Lambda
environment.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _path(name: str, default: Path) -> Path:
    return Path(os.environ.get(name) or default).resolve()


@dataclass(frozen=True)
class Settings:
    store: str = field(default_factory=lambda: os.environ.get("STORE", "sqlite"))
    var_dir: Path = field(default_factory=lambda: _path("VAR_DIR", ROOT / "var"))
    site_dir: Path = field(default_factory=lambda: _path("SITE_DIR", ROOT / "site"))
    templates_dir: Path = field(default_factory=lambda: _path("TEMPLATES_DIR", ROOT / "templates"))
    content_dir: Path = field(default_factory=lambda: _path("CONTENT_DIR", ROOT / "content"))
    table_name: str = field(default_factory=lambda: os.environ.get("TABLE_NAME", "microblog"))
    dynamodb_endpoint: str | None = field(
        default_factory=lambda: os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None
    )
    site_url: str = field(
        default_factory=lambda: os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    )
    mail_server: str | None = field(default_factory=lambda: os.environ.get("MAIL_SERVER") or None)
    mail_port: int = field(default_factory=lambda: int(os.environ.get("MAIL_PORT") or 25))
    mail_use_tls: bool = field(
        default_factory=lambda: os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes")
    )
    mail_username: str | None = field(default_factory=lambda: os.environ.get("MAIL_USERNAME"))
    mail_password: str | None = field(default_factory=lambda: os.environ.get("MAIL_PASSWORD"))
    mail_sender: str = field(
        default_factory=lambda: os.environ.get("MAIL_SENDER", "Microblog <no-reply@localhost>")
    )
    mail_transport: str = field(default_factory=lambda: os.environ.get("MAIL_TRANSPORT", ""))
    secret_key_env: str | None = field(default_factory=lambda: os.environ.get("SECRET_KEY"))

    @property
    def database(self) -> Path:
        return self.var_dir / "microblog.sqlite3"


def secret_key(settings: Settings) -> str:
    """The signing key: `SECRET_KEY` when set, else one generated on first
    start into `var/secret_key`, readable by its owner only (mode 0600)."""
    if settings.secret_key_env:
        return settings.secret_key_env
    path = settings.var_dir / "secret_key"
    if not path.exists():
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked into place: a
        # concurrent first start never reads a half-written key, and the
        # loser of the race simply uses the winner's key.
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def make_renderer(settings: Settings):
    from .sitegen.render import Renderer

    return Renderer(settings.templates_dir, settings.content_dir, settings.site_url)


def open_store(settings: Settings, create: bool = False):
    """The store `STORE` names: `sqlite` (default) or `dynamodb`.

    With `create`, a missing DynamoDB table is created, but only against a
    local endpoint (DynamoDB Local): on AWS the SAM template owns the table.
    """
    if settings.store == "sqlite":
        from .store.sqlite import SQLiteStore

        return SQLiteStore(settings.database)
    if settings.store == "dynamodb":
        from .store.dynamodb import DynamoStore

        store = DynamoStore(settings.table_name, endpoint_url=settings.dynamodb_endpoint)
        if create and settings.dynamodb_endpoint:
            store.create_table()
        return store
    raise ValueError(f"STORE must be 'sqlite' or 'dynamodb', not {settings.store!r}")
