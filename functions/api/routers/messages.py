"""Private messages and live notifications (the tutorial's chapter 21).

Only the recipient lists a message (their own inbox: there is no route to
anyone else's) and only the sender gets it back when sending it. Reading
marks nothing: `POST /messages/read` does, so that a GET stays safe (an API
client walking the pages, a prefetch, page 2) and the browser marks read
only when the Messages page is opened.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, RootModel

from ... import urls
from ...domain import MESSAGE_MAX, Message, User, format_time
from ..deps import App, CurrentUser, Cursor, PerPage
from ..errors import COLLECTION, WRITE, documented
from ..schemas import (
    USERNAME_FIELD,
    Author,
    CollectionLinks,
    Meta,
    Strict,
    author_out,
    collection,
)

router = APIRouter(tags=["messages"])


class NewMessage(Strict):
    recipient: str = Field(max_length=USERNAME_FIELD, description="A username.", examples=["bob"])
    body: str = Field(
        max_length=4 * MESSAGE_MAX,  # stripped, then checked against MESSAGE_MAX
        description=f"Plain text, 1-{MESSAGE_MAX} characters.",
        examples=["Hi Bob!"],
    )


class MessageOut(BaseModel):
    id: str
    body: str = Field(description="Plain text: show it as text, never as HTML.")
    timestamp: str
    sender: Author
    recipient: Author


class MessageCollection(BaseModel):
    items: list[MessageOut]
    meta: Meta = Field(alias="_meta")
    links: CollectionLinks = Field(alias="_links")


class NotificationOut(BaseModel):
    name: str = Field(examples=["unread_message_count"])
    data: Any = Field(description="The value: a number of unread messages, a task's progress…")
    timestamp: float = Field(description="When it changed, in seconds since the epoch.")


class Notifications(RootModel[list[NotificationOut]]):
    """The tutorial's answer: a plain list, oldest change first."""


def message_out(message: Message, sender: User, recipient: User) -> dict:
    return {
        "id": message.id,
        "body": message.body,
        "timestamp": format_time(message.timestamp),
        "sender": author_out(sender),
        "recipient": author_out(recipient),
    }


@router.post(
    "/messages", status_code=201, response_model=MessageOut, responses=documented(*WRITE, 404)
)
def send_message(new: NewMessage, app: App, user: CurrentUser):
    """Send a private message to another user (1-140 characters). It counts
    in the recipient's `unread_message_count` notification; messaging oneself
    is a 400."""
    message, recipient = app.send_message(user, new.recipient, new.body)
    return message_out(message, user, recipient)


@router.get(
    "/messages",
    response_model=MessageCollection,
    response_model_exclude_unset=True,
    responses=documented(*COLLECTION),
)
def messages(app: App, me: CurrentUser, per_page: PerPage = 10, cursor: Cursor = None):
    """The messages one received, newest first. Marks nothing read."""
    page = app.store.messages_received(me.id, cursor=cursor, limit=per_page)
    senders = app.store.get_users({message.sender_id for message in page.items})
    items = [
        message_out(message, senders[message.sender_id], me)
        for message in page.items
        if message.sender_id in senders
    ]
    return collection(items, page.next_cursor, urls.API + "/messages", per_page, cursor)


@router.post("/messages/read", status_code=204, responses=documented(403))
def read_messages(app: App, me: CurrentUser) -> Response:
    """Mark every message received so far read: the unread count goes to 0
    (the tutorial's `last_message_read_time`). Call it before listing, so a
    message that arrives meanwhile is listed or stays unread, never both unseen and read."""
    app.read_messages(me)
    return Response(status_code=204)


Since = Annotated[
    float,
    Query(ge=0, description="Only what changed after this time (a `timestamp` seen before)."),
]


@router.get("/notifications", response_model=Notifications, responses=documented(422))
def notifications(app: App, me: CurrentUser, since: Since = 0):
    """The caller's notifications that changed after `since`, oldest change
    first: poll with the newest `timestamp` seen. One read."""
    return [
        {"name": n.name, "data": n.data, "timestamp": n.timestamp}
        for n in app.notifications(me, since)
    ]
