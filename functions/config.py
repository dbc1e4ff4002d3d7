"""Settings: the environment, read once into one object.

`Settings.from_env()` is the only reader of the project's environment
variables; everything else is handed the `Settings` it made (see
`functions.wiring`). Locally everything defaults to folders of the checkout:
`var/` for run data, `site/` for the built pages, SQLite for the store. On
Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) the defaults change to what a
function can use: DynamoDB, mail through SES, scratch space under `/tmp`
(the package directory is read-only there), and no generated secret key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .i18n import DEFAULT_LANGUAGE, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
LOCAL_SITE_URL = "http://127.0.0.1:8000"
LAMBDA_SCRATCH = Path("/tmp/microblog")

# What each Lambda function cannot start without (see `Settings.check_lambda`).
LAMBDA_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "api": ("TABLE_NAME", "SECRET_KEY_ARN"),
    "render": ("TABLE_NAME", "SITE_BUCKET", "SITE_URL"),
    "fanout": ("TABLE_NAME", "FANOUT_QUEUE_URL"),
    "build": ("TABLE_NAME", "SITE_BUCKET", "SITE_URL", "BUILD_BUCKET", "RELEASE_STATE_MACHINE"),
    "export": ("TABLE_NAME",),
}

# Every variable `from_env` reads (boto3 reads its own AWS_* ones as well).
ENVIRONMENT = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "STORE",
    "VAR_DIR",
    "SITE_DIR",
    "TEMPLATES_DIR",
    "CONTENT_DIR",
    "LANGUAGES",
    "TABLE_NAME",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "SITE_URL",
    "SITE_BUCKET",
    "SITE_PREFIX",
    "DISTRIBUTION_ID",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_SENDER",
    "MAIL_TRANSPORT",
    "SECRET_KEY",
    "SECRET_KEY_ARN",
    "ORIGIN_SECRET_ARN",
    "FANOUT_QUEUE_URL",
    "BUILD_BUCKET",
    "BUILD_SHARDS",
    "RELEASE_STATE_MACHINE",
    "EXPORT_FUNCTION",
)


def languages(text: str | None) -> tuple[str, ...]:
    """`LANGUAGES` (`en,es`): the languages of i18n.LANGUAGES named, English
    first and always; all of them when unset. ValueError for another name."""
    if not text:
        return LANGUAGES
    named = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = sorted(set(named) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"LANGUAGES: no catalog for {', '.join(unknown)} (known: {LANGUAGES})")
    return (
        DEFAULT_LANGUAGE,
        *(lang for lang in LANGUAGES if lang in named and lang != DEFAULT_LANGUAGE),
    )


@dataclass(frozen=True)
class Settings:
    """What the app is wired from. The field defaults are the local stack's."""

    store: str = "sqlite"
    var_dir: Path = ROOT / "var"
    site_dir: Path = ROOT / "site"
    templates_dir: Path = ROOT / "templates"
    content_dir: Path = ROOT / "content"
    # The interface's languages the site is built in (`LANGUAGES=en,es`):
    # English always, first; another language's pages under its own prefix.
    languages: tuple[str, ...] = LANGUAGES
    table_name: str = "microblog"
    dynamodb_endpoint: str | None = None
    # The site's public address; "" on the API function without a custom
    # domain, which then answers for the address CloudFront forwards.
    site_url: str = LOCAL_SITE_URL
    site_bucket: str | None = None
    site_prefix: str = ""
    distribution_id: str | None = None
    mail_server: str | None = None
    mail_port: int = 25
    mail_use_tls: bool = False
    mail_username: str | None = None
    mail_password: str | None = None
    mail_sender: str = "Microblog <no-reply@localhost>"
    mail_transport: str = ""
    secret_key: str | None = None
    secret_key_arn: str | None = None
    origin_secret_arn: str | None = None
    # The SQS queue that carries the next steps of home-feed upkeep (AWS only).
    fanout_queue_url: str | None = None
    # A release's full build on AWS (functions/release.py): the bucket of the
    # shards' lists of pages, how many shards run at once, the state machine.
    build_bucket: str | None = None
    build_shards: int = 8
    release_state_machine: str | None = None
    # The function that runs background tasks (export) on AWS; unset locally,
    # where a worker thread of the server runs them.
    export_function: str | None = None
    lambda_function: str | None = None
    # The names of the variables that were set (non-empty), for `require`.
    given: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `environ` (default: the process environment), read once."""
        env = {
            name: value.strip()
            for name, value in (os.environ if environ is None else environ).items()
            if name in ENVIRONMENT and value.strip()
        }
        on_lambda = "AWS_LAMBDA_FUNCTION_NAME" in env
        scratch = LAMBDA_SCRATCH if on_lambda else ROOT

        def path(name: str, default: Path) -> Path:
            return Path(env.get(name) or default).resolve()

        return cls(
            store=env.get("STORE", "dynamodb" if on_lambda else "sqlite"),
            var_dir=path("VAR_DIR", scratch / "var"),
            site_dir=path("SITE_DIR", scratch / "site"),
            templates_dir=path("TEMPLATES_DIR", ROOT / "templates"),
            content_dir=path("CONTENT_DIR", ROOT / "content"),
            languages=languages(env.get("LANGUAGES")),
            table_name=env.get("TABLE_NAME", "microblog"),
            dynamodb_endpoint=env.get("AWS_ENDPOINT_URL_DYNAMODB"),
            site_url=env.get("SITE_URL", "" if on_lambda else LOCAL_SITE_URL).rstrip("/"),
            site_bucket=env.get("SITE_BUCKET"),
            site_prefix=env.get("SITE_PREFIX", ""),
            distribution_id=env.get("DISTRIBUTION_ID"),
            mail_server=env.get("MAIL_SERVER"),
            mail_port=int(env.get("MAIL_PORT", 25)),
            mail_use_tls=env.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes"),
            mail_username=env.get("MAIL_USERNAME"),
            mail_password=env.get("MAIL_PASSWORD"),
            mail_sender=env.get("MAIL_SENDER", cls.mail_sender),
            mail_transport=env.get("MAIL_TRANSPORT", "ses" if on_lambda else ""),
            secret_key=env.get("SECRET_KEY"),
            secret_key_arn=env.get("SECRET_KEY_ARN"),
            origin_secret_arn=env.get("ORIGIN_SECRET_ARN"),
            fanout_queue_url=env.get("FANOUT_QUEUE_URL"),
            build_bucket=env.get("BUILD_BUCKET"),
            build_shards=int(env.get("BUILD_SHARDS", cls.build_shards)),
            release_state_machine=env.get("RELEASE_STATE_MACHINE"),
            export_function=env.get("EXPORT_FUNCTION"),
            lambda_function=env.get("AWS_LAMBDA_FUNCTION_NAME"),
            given=frozenset(env),
        )

    @property
    def on_lambda(self) -> bool:
        return self.lambda_function is not None

    @property
    def database(self) -> Path:
        return self.var_dir / "microblog.sqlite3"

    def require(self, *names: str) -> Settings:
        """These settings, or a RuntimeError naming the variables that are not set."""
        missing = [name for name in names if name not in self.given]
        if missing:
            where = f"function {self.lambda_function}" if self.on_lambda else "this command"
            raise RuntimeError(
                f"{where} cannot start: environment variable(s) not set: {', '.join(missing)}"
            )
        return self

    def check_lambda(self, role: str) -> Settings:
        """On Lambda, `require` what the function of `role` (a key of
        LAMBDA_REQUIREMENTS) needs; elsewhere the local defaults stand."""
        return self.require(*LAMBDA_REQUIREMENTS[role]) if self.on_lambda else self
