"""Translation through Amazon Translate (the tutorial used Microsoft's service).

It is "configured" when boto3 can find credentials and a region, or when
`AWS_ENDPOINT_URL_TRANSLATE` points it at another endpoint (tests, a proxy).
"""

from __future__ import annotations

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

    def _translate_client(self):
        if self._client is not None:
            return self._client
        session = boto3.Session()
        endpoint = os.environ.get("AWS_ENDPOINT_URL_TRANSLATE")
        if not session.region_name or (session.get_credentials() is None and not endpoint):
            raise TranslationUnavailable("Translation is not configured.")
        self._client = session.client("translate")
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
