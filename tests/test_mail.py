"""Password-reset mail: the outbox, SMTP (a real server on 127.0.0.1), SES (moto),
and the whole reset flow over HTTP."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy

import boto3
import pytest
from aiosmtpd.controller import Controller
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions import auth
from functions.mail import OutboxMailer, SESMailer, SMTPMailer, compose
from tests.server import free_port
from tests.test_api import assert_error, login, register

LINK = re.compile(r"http://127.0.0.1:8000/reset-password/#token=([\w.-]+)")  # SITE_URL


@pytest.fixture
def outbox(settings):
    return settings.var_dir / "outbox"


def mails(outbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]


def request_reset(client, address="susan@example.com"):
    return client.post("/api/reset_password_request", json={"email": address})


def token_from(message) -> str:
    return LINK.search(message.get_body(("plain",)).get_content()).group(1)


def test_a_reset_request_mails_a_link(client, outbox):
    register(client)
    response = request_reset(client, "SUSAN@example.com")
    assert response.status_code == 202
    [message] = mails(outbox)
    assert message["To"] == "susan@example.com"
    assert message["Subject"] == "[Microblog] Reset Your Password"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith("Dear susan,") and "The Microblog Team" in text
    assert LINK.search(text) and LINK.search(html)
    assert not list(outbox.glob(".*"))  # no half-written message left


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, outbox):
    assert request_reset(client, "nobody@example.com").status_code == 202
    assert mails(outbox) == []
    assert_error(client.post("/api/reset_password_request", json={}), 422, "Unprocessable Entity")


def test_a_failing_mailer_does_not_break_the_request(client):
    register(client)

    class Broken:
        def send(self, message):
            raise OSError("mail server down")

    client.app_state.mailer = Broken()
    assert request_reset(client).status_code == 202


def test_the_whole_reset_flow(client, outbox):
    register(client)
    login(client)
    request_reset(client)
    token = token_from(mails(outbox)[0])
    assert_error(
        client.post("/api/reset_password", json={"token": token, "password": "short"}),
        422,
        "Unprocessable Entity",
        "password",
    )
    response = client.post("/api/reset_password", json={"token": token, "password": "new-secret"})
    assert response.status_code == 204
    assert_error(client.get("/api/me"), 401, "Unauthorized")  # sessions were revoked
    assert_error(login(client), 401, "Unauthorized")
    assert login(client, password="new-secret").status_code == 200
    again = client.post("/api/reset_password", json={"token": token, "password": "other-secret"})
    body = assert_error(again, 400, "Bad Request")
    assert body["message"] == "Invalid or expired reset link."


def test_an_expired_or_forged_reset_token_is_refused(client):
    user = register(client).json()
    microblog = client.app_state.microblog
    expired = microblog.tokens.issue(
        microblog.require_user(user["id"]), auth.RESET, timedelta(seconds=-1)
    )
    for token in (expired, "forged.token.value"):
        response = client.post("/api/reset_password", json={"token": token, "password": "x" * 9})
        assert_error(response, 400, "Bad Request")


def message_to(address: str):
    return compose("Microblog <no-reply@localhost>", address, "Hi", "text", "<p>html</p>")


def test_the_outbox_mailer_writes_eml_files_in_order(tmp_path):
    mailer = OutboxMailer(tmp_path / "outbox")
    for n in range(3):
        mailer.send(message_to(f"user{n}@example.com"))
    assert [m["To"] for m in mails(tmp_path / "outbox")] == [
        f"user{n}@example.com" for n in range(3)
    ]


class Collect:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def test_smtp_delivers_to_a_real_server():
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        SMTPMailer("127.0.0.1", port).send(message_to("ann@example.com"))
    finally:
        controller.stop()
    [envelope] = handler.messages
    assert envelope.rcpt_tos == ["ann@example.com"]
    assert b"Subject: Hi" in envelope.content


def test_the_local_stack_uses_smtp_when_mail_server_is_set(settings, monkeypatch):
    from functions.config import Settings
    from functions.mail import make_mailer

    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", "2525")
    mailer = make_mailer(Settings.from_env())
    assert isinstance(mailer, SMTPMailer) and mailer.port == 2525
    monkeypatch.setenv("MAIL_TRANSPORT", "ses")
    assert isinstance(make_mailer(Settings.from_env()), SESMailer)


@mock_aws
def test_ses_sends_through_amazon_ses():
    ses = boto3.client("ses", region_name="us-east-1")
    ses.verify_email_identity(EmailAddress="no-reply@localhost")
    SESMailer(boto3.client("sesv2", region_name="us-east-1")).send(message_to("ann@example.com"))
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert "ann@example.com" in sent.destinations and b"Subject: Hi" in sent.raw_data.encode()
