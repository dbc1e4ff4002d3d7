"""The reader's language in the API: the `lang` cookie the pages' switch
sets, else the browser's Accept-Language. The error handlers translate the
`message`s a reader sees by it (the `error` codes stay English: programs
read them), and posts' `html` is rendered in it."""

from typing import Annotated

from fastapi import Depends, Request

from ..i18n import LANG_COOKIE, reader_language


def request_language(request: Request) -> str:
    return reader_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


async def language(request: Request) -> str:
    """A dependency: `Lang` in a route's signature."""
    return request_language(request)


Lang = Annotated[str, Depends(language)]
