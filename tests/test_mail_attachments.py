"""Attachments (export's posts.json) through every mailer: the outbox, SMTP
(a real server on 127.0.0.1) and SES v2 (moto keeps the raw message)."""

from __future__ import annotations

import email
from email import policy

import boto3
import pytest
from aiosmtpd.controller import Controller
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions.mail import Attachment, OutboxMailer, SESMailer, SMTPMailer, compose
from tests.server import free_port
from tests.test_mail import Collect

DATA = b'{\n    "posts": []\n}\n'


def message():
    attachment = Attachment("posts.json", "application/json", DATA)
    sender, to = "no-reply@example.com", "ann@example.com"
    return compose(sender, to, "Hi", "text", "<p>html</p>", [attachment])


def check(raw: bytes) -> None:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.get_body(("plain",)).get_content().strip() == "text"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "posts.json"
    assert attachment.get_content_type() == "application/json"
    assert attachment.get_content() == DATA  # bytes: an application/* part


def test_the_outbox_keeps_the_attachment(tmp_path):
    OutboxMailer(tmp_path).send(message())
    [path] = tmp_path.glob("*.eml")
    check(path.read_bytes())


def test_smtp_delivers_the_attachment():
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        SMTPMailer("127.0.0.1", controller.port).send(message())
    finally:
        controller.stop()
    [envelope] = handler.messages
    check(envelope.content)


@mock_aws
def test_ses_v2_sends_the_attachment_in_the_raw_message():
    boto3.client("ses", region_name="us-east-1").verify_email_identity(
        EmailAddress="no-reply@example.com"
    )
    SESMailer(boto3.client("sesv2", region_name="us-east-1")).send(message())
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    check(sent.raw_data.encode())


@pytest.mark.parametrize("kind", ["application/json", "application/gzip"])
def test_an_attachment_keeps_its_type(kind):
    mail = compose("a@x.org", "b@x.org", "s", "t", "<p>h</p>", [Attachment("f", kind, b"\x00\x01")])
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == kind and attachment.get_content() == b"\x00\x01"
