"""One error envelope everywhere: `{"error": "<reason phrase>", "message": "<why>"}`.

Field-level problems also carry `fields: {name: message}`, so a form can
show each message next to its field. No handler ever returns a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ..auth import InvalidToken
from ..domain import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    StaleUser,
    TooManyAttempts,
    ValidationError,
    joined_fields,
)
from ..i18n import N_, translate
from ..store import InvalidCursor
from .language import request_language

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    message: str
    fields: dict[str, str] | None = None


def error_response(
    status: int, message: str, fields: dict[str, str] | None = None, headers=None
) -> JSONResponse:
    body = {"error": HTTPStatus(status).phrase, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status, headers=headers)


DOMAIN_STATUS = {
    BadRequest: 400,
    ValidationError: 422,
    Conflict: 409,
    NotFound: 404,
    Forbidden: 403,
    StaleUser: 409,
}

# The error statuses every route can answer with: a bad Bearer token (401)
# and a failure on our side (500).
ALWAYS = (401, 500)
# ...and every write: a malformed body (400), a cross-site cookie write
# (403), a body over the limit (413, `limits.MAX_BODY`), fields that break a
# rule (422).
WRITE = (400, 403, 413, 422)
# ...and every collection: a bad cursor (400), a bad page size (422).
COLLECTION = (400, 422)


ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}


def documented(*statuses: int) -> dict[int, dict]:
    """The OpenAPI `responses` of a route's errors: `statuses` plus ALWAYS,
    each with the envelope as its body.

    The body is a reference to the `ErrorBody` schema (which `install` adds
    to the document), not `"model": ErrorBody`: FastAPI would build a pydantic
    TypeAdapter for every route and status (about a hundred, a third of the
    cost of declaring the routes at a cold start), used only for this document.
    """
    content = {"application/json": {"schema": ERROR_SCHEMA}}
    return {
        status: {"description": HTTPStatus(status).phrase, "content": content}
        for status in sorted({*ALWAYS, *statuses})
    }


def openapi_errors(app: FastAPI) -> None:
    """Add the `ErrorBody` schema that `documented` refers to, and drop the 422
    `HTTPValidationError` that FastAPI adds to every route with parameters:
    our handler answers validation errors with the envelope, and the routes
    that can fail validation declare their 422 themselves."""
    make_schema = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = make_schema()
            for operations in schema["paths"].values():
                for operation in operations.values():
                    body = operation["responses"].get("422", {}).get("content", {})
                    model = body.get("application/json", {}).get("schema", {})
                    if model.get("$ref", "").endswith("/HTTPValidationError"):
                        del operation["responses"]["422"]
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            components["ErrorBody"] = ErrorBody.model_json_schema(mode="serialization")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def _field_name(loc: tuple) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    openapi_errors(app)

    @app.exception_handler(TooManyAttempts)
    async def too_many(request: Request, exc: TooManyAttempts):
        message = translate(exc.message, request_language(request))
        return error_response(429, message, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        lang = request_language(request)
        fields = {name: translate(text, lang) for name, text in exc.fields.items()}
        message = joined_fields(fields) if exc.joined else translate(exc.message, lang)
        return error_response(DOMAIN_STATUS.get(type(exc), 400), message, fields)

    @app.exception_handler(InvalidToken)
    async def invalid_token(request: Request, exc: InvalidToken):
        message = translate(N_("Invalid or expired credentials."), request_language(request))
        return error_response(401, message)

    @app.exception_handler(InvalidCursor)
    async def invalid_cursor(request: Request, exc: InvalidCursor):
        return error_response(400, "Invalid cursor: use the links the API returns.")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "The request body is not valid JSON.")
        if any(tuple(e.get("loc", ())) == ("body",) for e in errors):
            return error_response(400, "The request body must be a JSON object.")
        fields = {}
        for e in errors:
            fields.setdefault(_field_name(tuple(e.get("loc", ()))), e.get("msg", "Invalid."))
        message = "; ".join(f"{name}: {msg}" for name, msg in fields.items())
        return error_response(422, message, fields)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        message = translate(message, request_language(request))
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = N_("Something went wrong on our side; please try again.")
        return error_response(500, translate(message, request_language(request)))
