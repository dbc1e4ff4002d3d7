"""A tiny stand-in for Amazon Translate on 127.0.0.1, speaking its JSON protocol
(`X-Amz-Target: AWSShineFrontendService_20170701.TranslateText`), so the real
boto3 client can be driven end to end. It translates deterministically:
the result is "[<dest>] <text>"; a text containing "FAIL" gets a service error."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler

from tests.server import in_thread

TARGET = "AWSShineFrontendService_20170701.TranslateText"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("X-Amz-Target") != TARGET:
            return self._reply(400, {"__type": "UnknownOperationException"})
        if "FAIL" in body["Text"]:
            return self._reply(500, {"__type": "InternalServerException", "message": "down"})
        source = body["SourceLanguageCode"]
        self._reply(
            200,
            {
                "TranslatedText": f"[{body['TargetLanguageCode']}] {body['Text']}",
                "SourceLanguageCode": "es" if source == "auto" else source,
                "TargetLanguageCode": body["TargetLanguageCode"],
            },
        )

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def serving() -> AbstractContextManager[str]:
    """The stand-in on 127.0.0.1: its base URL."""
    return in_thread(Handler)
