"""POST /api/translate through the real boto3 client: botocore's Stubber, and a
local endpoint speaking the Translate JSON protocol."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from functions.translate import Translator
from tests import translate_server
from tests.test_api import assert_error

HOLA = {"text": "Hola a todos", "source_language": "es", "dest_language": "en"}


@pytest.fixture
def stubbed(client, susan):
    real = boto3.client("translate", region_name="us-east-1")
    stubber = Stubber(real)
    client.app_state.translator = Translator(real)
    with stubber:
        yield stubber


@pytest.fixture
def susan(client):
    from tests.test_api import login, register

    register(client)
    login(client)


def test_translation_with_the_stubbed_client(client, stubbed):
    stubbed.add_response(
        "translate_text",
        {
            "TranslatedText": "Hello everyone",
            "SourceLanguageCode": "es",
            "TargetLanguageCode": "en",
        },
        {"Text": "Hola a todos", "SourceLanguageCode": "es", "TargetLanguageCode": "en"},
    )
    response = client.post("/api/translate", json=HOLA)
    assert response.status_code == 200 and response.json() == {"text": "Hello everyone"}
    stubbed.assert_no_pending_responses()


def test_an_unknown_source_language_is_auto(client, stubbed):
    stubbed.add_response(
        "translate_text",
        {"TranslatedText": "Hi", "SourceLanguageCode": "es", "TargetLanguageCode": "en"},
        {"Text": "Hola", "SourceLanguageCode": "auto", "TargetLanguageCode": "en"},
    )
    response = client.post("/api/translate", json={**HOLA, "text": "Hola", "source_language": ""})
    assert response.json() == {"text": "Hi"}


def test_a_service_error_is_a_502_envelope(client, stubbed):
    stubbed.add_client_error("translate_text", "ServiceUnavailableException", "down")
    body = assert_error(client.post("/api/translate", json=HOLA), 502, "Bad Gateway")
    assert body["message"] == "Translation failed."


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """No AWS credentials, region or Translate endpoint anywhere."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_TRANSLATE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def test_without_aws_configuration_it_is_a_503(client, susan, no_aws):
    client.app_state.translator = Translator()
    body = assert_error(client.post("/api/translate", json=HOLA), 503, "Service Unavailable")
    assert body["message"] == "Translation is not configured."


def test_me_says_when_translation_is_configured(client, susan):
    client.app_state.translator = Translator()
    assert client.get("/api/me").json()["can_translate"] is True


def test_me_says_when_translation_is_not_configured(client, susan, no_aws):
    client.app_state.translator = Translator()
    assert client.get("/api/me").json()["can_translate"] is False
    me = client.get("/api/me").json()
    assert "can_translate" not in client.get(f"/api/users/{me['id']}").json()


def test_translation_against_a_local_translate_endpoint(client, susan, monkeypatch):
    with translate_server.serving() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_TRANSLATE", url)
        client.app_state.translator = Translator()
        response = client.post("/api/translate", json=HOLA)
        assert response.json() == {"text": "[en] Hola a todos"}
        failed = client.post("/api/translate", json={**HOLA, "text": "FAIL please"})
        assert_error(failed, 502, "Bad Gateway")


def test_translation_needs_a_login(client):
    assert_error(client.post("/api/translate", json=HOLA), 401, "Unauthorized")


@pytest.mark.parametrize(
    "body",
    [
        {**HOLA, "dest_language": "english!"},
        {**HOLA, "text": ""},
        {"text": "x", "source_language": "es"},
    ],
)
def test_bad_input_is_a_422(client, susan, body):
    assert_error(client.post("/api/translate", json=body), 422, "Unprocessable Entity")
