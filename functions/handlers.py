"""AWS Lambda entry points: thin wrappers around the same app the local stack runs.

`http` serves API Gateway (HTTP API, payload 2.0) through Mangum. The app is
made on the first event and kept for the life of the Lambda instance, so
the store client and templates are loaded once, not per request.
"""

from __future__ import annotations

from functools import cache

from mangum import Mangum

from . import auth
from .api.app import create_app
from .config import Settings, make_renderer, open_store, secret_key
from .mail import make_mailer
from .services import Microblog


@cache
def _http_handler() -> Mangum:
    settings = Settings()
    store = open_store(settings)
    # On AWS the site is rebuilt from the DynamoDB stream, not from here.
    microblog = Microblog(store, auth.Tokens(secret_key(settings)))
    app = create_app(
        microblog, make_renderer(settings), make_mailer(settings), settings.mail_sender
    )
    return Mangum(app, lifespan="off", api_gateway_base_path="/")


def http(event: dict, context: object) -> dict:
    """API Gateway -> FastAPI."""
    return _http_handler()(event, context)
