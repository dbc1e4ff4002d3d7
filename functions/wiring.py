"""One place that builds the app's parts from `Settings`.

`build.py`, the local stack (`functions.local`) and the Lambda handlers all
make their store, renderer, mailer, translator, publisher and FastAPI app
here, so the choices (SQLite or DynamoDB, outbox, SMTP or SES, a key from a
file or from Secrets Manager) are made once, in one way.

Each part's modules are imported by the function that makes it, not with
this module: a site build never loads FastAPI, boto3 or the password
hasher, and the render function never loads the API.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache, cached_property, partial
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .exports import TaskRunner
    from .mail import Mailer
    from .sitegen.builder import SiteBuilder
    from .sitegen.render import Renderer
    from .sitegen.s3 import S3Publisher
    from .store import Store
    from .translate import Translator

__all__ = [
    "create_api",
    "lambda_app",
    "local_builder",
    "make_mailer",
    "make_renderer",
    "make_task_runner",
    "make_translator",
    "open_store",
    "read_secret",
    "s3_publisher",
    "secret_key",
]


# ------------------------------------------------------------------ secrets


@cache
def secrets_client():
    """One Secrets Manager client per process (made when a secret is first read)."""
    import boto3

    return boto3.client("secretsmanager")


@cache
def read_secret(arn: str) -> str:
    """The SecretString of the secret `arn`, read once per process (on Lambda,
    once per container)."""
    value = secrets_client().get_secret_value(SecretId=arn).get("SecretString")
    if not value:
        raise RuntimeError(f"the secret {arn} has no SecretString")
    return value


def secret_key(settings: Settings) -> str:
    """The signing key: `SECRET_KEY` when set; else the secret `SECRET_KEY_ARN`
    names; else (locally only) one generated on first start into
    `var/secret_key`, readable by its owner only (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    if settings.secret_key_arn:
        return read_secret(settings.secret_key_arn)
    if settings.on_lambda:
        settings.require("SECRET_KEY_ARN")
    path = settings.var_dir / "secret_key"
    if not path.exists():
        import secrets

        settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
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


# ------------------------------------------------------------------ parts


def open_store(settings: Settings, create: bool = False) -> Store:
    """The store `STORE` names: `sqlite` (the local default) or `dynamodb`.

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


def make_renderer(settings: Settings) -> Renderer:
    from .sitegen.render import Renderer

    return Renderer(
        settings.templates_dir, settings.content_dir, settings.site_url, settings.languages
    )


def local_builder(settings: Settings, store: Store, workers: int | None = None) -> SiteBuilder:
    """The site build writing into `site/` (`SITE_DIR`), one process at a
    time (its lock file is run data, in `VAR_DIR`: not in the site)."""
    from .sitegen.builder import SiteBuilder
    from .sitegen.publish import LocalPublisher

    site_dir = settings.site_dir
    lock = settings.var_dir / "build.lock"
    return SiteBuilder(
        store, make_renderer(settings), lambda: LocalPublisher(site_dir), workers, lock_file=lock
    )


def make_mailer(settings: Settings) -> Mailer:
    """The outbox folder, SMTP or SES, as the settings say (see `functions.mail`)."""
    from .mail import make_mailer

    return make_mailer(settings)


class LazyRenderer:
    """The renderer, made when a request first renders something (a post's
    HTML, the 404 page, a mail): the template engine, the templates and the
    content pages are loaded then, not at a cold start that may only serve
    requests which render nothing (`/api/me` on every page)."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self.site_url = settings.site_url

    @cached_property
    def renderer(self) -> Renderer:
        return make_renderer(self._settings)

    def __getattr__(self, name: str):
        return getattr(self.renderer, name)


def make_translator(settings: Settings) -> Translator:
    """Amazon Translate, with boto3's own configuration (credentials, region,
    `AWS_ENDPOINT_URL_TRANSLATE`)."""
    from .translate import Translator

    return Translator()


def s3_publisher(settings: Settings, **kwargs) -> Callable[[], S3Publisher]:
    """A factory of publishers to the site's bucket (`SITE_BUCKET`), one per
    build worker; `kwargs` go to `S3Publisher` (clients, `force`)."""
    from .sitegen.s3 import S3Publisher

    if not settings.site_bucket:
        raise RuntimeError("SITE_BUCKET is not set: name the S3 bucket to publish the site to")
    return partial(
        S3Publisher,
        settings.site_bucket,
        prefix=settings.site_prefix,
        distribution_id=settings.distribution_id,
        **kwargs,
    )


def make_task_runner(settings: Settings, store: Store, mailer: Mailer, renderer) -> TaskRunner:
    """Where background tasks (export) run: an asynchronous invocation of
    `EXPORT_FUNCTION` when set (AWS); on Lambda without it, nowhere (starting
    one answers 503); locally, a worker thread running the job in-process."""
    from .task_runners import LambdaRunner, NoRunner, ThreadRunner

    if settings.export_function:
        return LambdaRunner(settings.export_function)
    if settings.on_lambda:
        return NoRunner()
    from .export_job import PostsExport

    return ThreadRunner(PostsExport(store, mailer, renderer, settings.mail_sender).run)


# ------------------------------------------------------------------ apps


def create_api(
    settings: Settings,
    store: Store | None = None,
    renderer: Renderer | LazyRenderer | None = None,
    mailer: Mailer | None = None,
    on_change: Callable | None = None,
) -> FastAPI:
    """The API app (routes under `/api`) over `store` (default: the configured
    one); `on_change` receives each write's change events. With
    `ORIGIN_SECRET_ARN`, only requests through CloudFront are served."""
    from . import auth
    from .api import edge
    from .api.app import create_app
    from .services import Microblog

    microblog = Microblog(
        store if store is not None else open_store(settings), auth.Tokens(secret_key(settings))
    )
    if on_change is not None:
        microblog.on_change = on_change
    renderer = renderer or LazyRenderer(settings)
    mailer = mailer or make_mailer(settings)
    app = create_app(
        microblog,
        renderer,
        mailer,
        settings.mail_sender,
        make_translator(settings),
        task_runner=make_task_runner(settings, microblog.store, mailer, renderer),
    )
    if settings.origin_secret_arn:
        edge.install(app, read_secret(settings.origin_secret_arn))
    return app


def lambda_app(settings: Settings) -> FastAPI:
    """The API function's app: the API, plus the site's 404 page for the
    missing pages CloudFront's origin group fails over to it. On AWS the
    site is re-rendered from the table's stream, not by the API."""
    from .api.missing import MissingPage

    settings.check_lambda("api")
    app = create_api(settings)
    app.mount("/", MissingPage(app.state.renderer), name="missing")
    return app
