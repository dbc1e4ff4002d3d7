"""Export your posts as a background job (the tutorial's chapter 22)."""

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from ... import urls
from ...domain import TASK_STALE, Task, format_time, utcnow
from ...exports import NotStarted, current_export, start_export
from ...i18n import N_, translate
from ..deps import App, CurrentUser
from ..errors import WRITE, documented
from ..language import Lang

router = APIRouter(tags=["exports"])

CURRENT = f"{urls.API}/exports/current"


class TaskOut(BaseModel):
    """A background task, as its owner sees it (the tutorial's Task)."""

    id: str
    name: str
    description: str
    progress: int = Field(ge=0, le=100, description="Percent done.")
    complete: bool
    running: bool = Field(
        description="Not complete and its job alive (it wrote within the last "
        f"{int(TASK_STALE.total_seconds() // 60)} minutes): poll while true."
    )
    error: str | None = Field(description="Why it failed; null unless it did.")
    started: str
    updated: str


def task_out(task: Task, now: datetime, lang: str = "en") -> dict:
    """The task for its owner; its `description` and `error`, messages the
    page shows, in the reader's language."""
    return {
        "id": task.id,
        "name": task.name,
        "description": translate(task.description, lang),
        "progress": task.progress,
        "complete": task.complete,
        "running": task.running(now),
        "error": translate(task.error, lang) if task.error else None,
        "started": format_time(task.started),
        "updated": format_time(task.updated),
    }


@router.post(
    "/exports",
    status_code=202,
    response_model=TaskOut,
    responses=documented(*WRITE, 409, 503),
)
def export_posts(
    request: Request, response: Response, app: App, user: CurrentUser, lang: Lang
) -> dict:
    """Start exporting one's posts: a JSON file of them all is mailed to one's
    address as posts.json, in the reader's language (`lang` cookie, else
    Accept-Language). Answers at once with the task; follow its
    progress at `GET /api/exports/current`. 409 while an export runs."""
    try:
        task = start_export(app.store, request.app.state.task_runner, user, lang)
    except NotStarted as exc:
        raise HTTPException(503, str(exc)) from None
    response.headers["Location"] = CURRENT
    return task_out(task, utcnow(), lang)


@router.get("/exports/current", response_model=TaskOut, responses=documented(404))
def current(app: App, user: CurrentUser, lang: Lang) -> dict:
    """One's latest export task, running or over (one item read: poll it
    every few seconds while `running`)."""
    task = current_export(app.store, user)
    if task is None:
        raise HTTPException(404, N_("You have not exported your posts yet."))
    return task_out(task, utcnow(), lang)
