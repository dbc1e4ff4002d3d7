"""The FastAPI application: the routers, the error envelope, the docs."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from .. import urls
from ..exports import TaskRunner
from ..mail import Mailer
from ..services import Microblog
from ..translate import Translator
from . import docs, errors
from .csrf import check_origin
from .deps import PostRenderer
from .limits import BodyLimit
from .routers import (
    exports,
    feeds,
    follows,
    messages,
    password,
    posts,
    session,
    tokens,
    translate,
    users,
)


def create_app(
    microblog: Microblog,
    renderer: PostRenderer,
    mailer: Mailer,
    mail_sender: str,
    translator: Translator,
    task_runner: TaskRunner | None = None,
) -> FastAPI:
    """The API under `/api`, the same on Lambda and in the local server
    (`functions.wiring` makes its parts from the settings)."""
    app = FastAPI(
        title="Microblog API",
        version="1.0",
        description="The Flask Mega-Tutorial's microblog, as serverless functions.",
        openapi_url=f"{urls.API}/openapi.json",
        docs_url=None,  # served from the package by `docs`, not from a CDN
        redoc_url=None,
        dependencies=[Depends(check_origin)],
    )
    app.state.microblog = microblog
    app.state.renderer = renderer
    app.state.mailer = mailer
    app.state.mail_sender = mail_sender
    app.state.translator = translator
    app.state.task_runner = task_runner  # export: runs background tasks off the request
    errors.install(app)
    app.add_middleware(BodyLimit)
    routers = (
        session,
        tokens,
        users,
        follows,
        posts,
        feeds,
        password,
        translate,
        exports,
        messages,
    )
    for router in (module.router for module in routers):
        app.include_router(router, prefix=urls.API)
    app.include_router(docs.router(app.title, app.openapi_url))
    return app
