"""Follow and unfollow (the tutorial's `main.follow` / `main.unfollow`)."""

from fastapi import APIRouter, Response

from ..deps import App, CurrentUser
from ..errors import documented

router = APIRouter(tags=["follows"])


@router.post("/users/{user_id}/follow", status_code=204, responses=documented(400, 403, 404))
def follow(user_id: str, app: App, me: CurrentUser) -> Response:
    """Follow a user. Idempotent; following oneself is a 400."""
    app.follow(me, user_id)
    return Response(status_code=204)


@router.delete("/users/{user_id}/follow", status_code=204, responses=documented(400, 403, 404))
def unfollow(user_id: str, app: App, me: CurrentUser) -> Response:
    """Stop following a user. Idempotent."""
    app.unfollow(me, user_id)
    return Response(status_code=204)
