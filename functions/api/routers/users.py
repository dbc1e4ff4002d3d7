"""Users: register and read (the tutorial's `api/users.py`)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ... import urls
from ..deps import App, CurrentUserOrNone
from ..errors import ERROR_RESPONSES
from ..schemas import NewUser, UserOut, user_out

router = APIRouter(tags=["users"], responses=ERROR_RESPONSES)


@router.post("/users", status_code=201, response_model=UserOut, response_model_exclude_none=True)
def register(new: NewUser, response: Response, app: App):
    """Register a new user; answers with the user and its `Location`."""
    user = app.register(new.username, new.email, new.password)
    response.headers["Location"] = urls.api_user(user.id)
    return user_out(user, include_email=True)


@router.get("/users/{user_id}", response_model=UserOut, response_model_exclude_none=True)
def get_user(user_id: str, app: App, me: CurrentUserOrNone):
    """One user; `email` only when it is oneself."""
    user = app.require_user(user_id)
    return user_out(user, include_email=me is not None and me.id == user.id)
