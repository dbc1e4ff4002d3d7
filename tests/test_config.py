"""Settings read once from the environment, with local and Lambda defaults."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from functions import wiring
from functions.config import LAMBDA_REQUIREMENTS, ROOT, Settings

LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "microblog-api"}


def test_the_local_defaults_are_the_checkouts_folders_and_sqlite():
    settings = Settings.from_env({})
    assert settings.store == "sqlite"
    assert settings.var_dir == ROOT / "var" and settings.site_dir == ROOT / "site"
    assert settings.site_url == "http://127.0.0.1:8000"
    assert settings.mail_transport == "" and not settings.on_lambda
    assert settings == Settings(var_dir=settings.var_dir, site_dir=settings.site_dir)


def test_on_lambda_the_defaults_are_dynamodb_ses_and_scratch_under_tmp():
    settings = Settings.from_env(LAMBDA)
    assert settings.on_lambda
    assert settings.store == "dynamodb"
    assert settings.mail_transport == "ses"
    assert settings.site_url == ""  # taken from the viewer's request instead
    for folder in (settings.var_dir, settings.site_dir):
        assert folder.is_relative_to(Path("/tmp"))


def test_the_environment_is_read_into_the_settings_once():
    environ = {
        "STORE": "dynamodb",
        "TABLE_NAME": "blog",
        "SITE_URL": "https://blog.example/",
        "MAIL_PORT": "2525",
        "MAIL_USE_TLS": "yes",
        "SITE_BUCKET": "bucket",
        "SECRET_KEY_ARN": "arn:key",
        "UNRELATED": "x",
    }
    settings = Settings.from_env(environ)
    environ.clear()  # later changes of the environment do not matter
    assert (settings.store, settings.table_name) == ("dynamodb", "blog")
    assert settings.site_url == "https://blog.example"
    assert (settings.mail_port, settings.mail_use_tls) == (2525, True)
    assert settings.site_bucket == "bucket" and settings.secret_key_arn == "arn:key"
    assert settings.given == {
        "STORE",
        "TABLE_NAME",
        "SITE_URL",
        "MAIL_PORT",
        "MAIL_USE_TLS",
        "SITE_BUCKET",
        "SECRET_KEY_ARN",
    }


def test_blank_variables_count_as_not_set():
    assert "TABLE_NAME" not in Settings.from_env({"TABLE_NAME": "  "}).given


@pytest.mark.parametrize("role", sorted(LAMBDA_REQUIREMENTS))
def test_each_lambda_role_names_all_it_misses_in_one_line(role):
    with pytest.raises(RuntimeError) as error:
        Settings.from_env(LAMBDA).check_lambda(role)
    message = str(error.value)
    assert "\n" not in message and "microblog-api" in message
    assert message.endswith(", ".join(LAMBDA_REQUIREMENTS[role]))


def test_the_render_role_needs_the_table_bucket_and_site_url():
    environ = {**LAMBDA, "TABLE_NAME": "t", "SITE_BUCKET": "b", "SITE_URL": "https://x"}
    assert Settings.from_env(environ).check_lambda("render").site_bucket == "b"
    assert LAMBDA_REQUIREMENTS["render"] == ("TABLE_NAME", "SITE_BUCKET", "SITE_URL")


def test_off_lambda_the_local_defaults_stand_in():
    assert Settings.from_env({}).check_lambda("api").table_name == "microblog"


def test_on_lambda_no_secret_key_is_generated(tmp_path):
    settings = Settings.from_env({**LAMBDA, "VAR_DIR": str(tmp_path)})
    with pytest.raises(RuntimeError, match="SECRET_KEY_ARN"):
        wiring.secret_key(settings)
    assert list(tmp_path.iterdir()) == []


def test_a_secret_is_read_from_secrets_manager_once(monkeypatch):
    client = boto3.client("secretsmanager", region_name="us-east-1")
    monkeypatch.setattr(wiring, "secrets_client", lambda: client)
    wiring.read_secret.cache_clear()
    with Stubber(client) as stub:
        stub.add_response("get_secret_value", {"SecretString": "s" * 40}, {"SecretId": "arn:k"})
        settings = Settings.from_env({**LAMBDA, "SECRET_KEY_ARN": "arn:k"})
        assert wiring.secret_key(settings) == "s" * 40
        assert wiring.secret_key(settings) == "s" * 40  # no second call: the stub has none
        stub.assert_no_pending_responses()
    wiring.read_secret.cache_clear()


def test_publishing_needs_a_bucket():
    with pytest.raises(RuntimeError, match="SITE_BUCKET"):
        wiring.s3_publisher(Settings())
    publisher = wiring.s3_publisher(Settings(site_bucket="b", distribution_id="E1"))()
    assert (publisher.bucket, publisher.distribution_id) == ("b", "E1")
