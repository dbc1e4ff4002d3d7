"""Translation through Amazon Translate (the tutorial used Microsoft's service).

It is "configured" when boto3 can find credentials and a region, or when
`AWS_ENDPOINT_URL_TRANSLATE` points it at another endpoint (tests, a proxy).
"""

from __future__ import annotations

import functools
import os

import boto3
from botocore.exceptions import BotoCoreError, ClientError


class TranslationUnavailable(Exception):
    """No credentials or region: translation is not configured."""


class TranslationFailed(Exception):
    """The service was reached but did not translate."""


class Translator:
    def __init__(self, client=None):
        self._client = client

    @functools.cached_property
    def configured(self) -> bool:
        """Whether `translate` can reach a service: the UI offers "Translate"
        only then (GET /api/me says), instead of a link that can only fail."""
        if self._client is not None:
            return True
        session = boto3.Session()
        endpoint = os.environ.get("AWS_ENDPOINT_URL_TRANSLATE")
        return bool(session.region_name) and (
            session.get_credentials() is not None or bool(endpoint)
        )

    def _translate_client(self):
        if self._client is not None:
            return self._client
        if not self.configured:
            raise TranslationUnavailable("Translation is not configured.")
        self._client = boto3.Session().client("translate")
        return self._client

    def translate(self, text: str, source_language: str, dest_language: str) -> str:
        client = self._translate_client()
        try:
            response = client.translate_text(
                Text=text,
                SourceLanguageCode=source_language or "auto",
                TargetLanguageCode=dest_language,
            )
        except (ClientError, BotoCoreError) as exc:
            raise TranslationFailed(str(exc)) from None
        return response["TranslatedText"]
