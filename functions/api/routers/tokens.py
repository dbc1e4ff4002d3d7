"""API tokens for programs (the tutorial's `api/tokens.py`): HTTP Basic in, Bearer out."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ... import auth
from ..deps import App, CurrentUser, client_address
from ..errors import documented

router = APIRouter(tags=["tokens"])
basic = HTTPBasic(auto_error=False, description="Username and password.")


class TokenOut(BaseModel):
    token: str


@router.post("/tokens", response_model=TokenOut, responses=documented(403, 429))
def get_token(
    request: Request, app: App, credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]
) -> dict:
    """Exchange username and password (HTTP Basic) for a Bearer token (1 hour)."""
    user = None
    if credentials:
        user = app.log_in(credentials.username, credentials.password, client_address(request))
    if user is None:
        raise HTTPException(
            401, "Invalid username or password", headers={"WWW-Authenticate": "Basic"}
        )
    return {"token": app.tokens.issue(user, auth.API)}


@router.delete("/tokens", status_code=204, responses=documented(403))
def revoke_token(app: App, user: CurrentUser) -> Response:
    """Revoke the caller's tokens (every token and session of this user)."""
    app.revoke_tokens(user)
    return Response(status_code=204)
