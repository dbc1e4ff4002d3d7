"""Ajax translation of a post (the tutorial's `/translate`)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from ...i18n import N_
from ...translate import TranslationFailed, TranslationUnavailable
from ..deps import CurrentUser
from ..errors import WRITE, documented
from ..schemas import Strict

router = APIRouter(tags=["translate"])

LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4})?$"


class TranslateIn(Strict):
    text: str = Field(min_length=1, max_length=5000)
    source_language: str = Field("", pattern=f"({LANGUAGE})|^$")
    dest_language: str = Field(pattern=LANGUAGE)


class TranslateOut(BaseModel):
    text: str


@router.post(
    "/translate",
    response_model=TranslateOut,
    responses=documented(*WRITE, 502, 503),
)
def translate(body: TranslateIn, request: Request, user: CurrentUser) -> dict:
    """Translate a text with Amazon Translate; 503 when it is not configured."""
    translator = request.app.state.translator
    try:
        text = translator.translate(body.text, body.source_language, body.dest_language)
    except TranslationUnavailable:
        raise HTTPException(503, N_("Translation is not configured.")) from None
    except TranslationFailed:
        raise HTTPException(502, N_("Translation failed.")) from None
    return {"text": text}
