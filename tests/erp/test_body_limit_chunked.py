"""The body limit holds for chunked uploads, which carry no Content-Length for Django to check."""

import json

import pytest
from asgiref.testing import ApplicationCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


async def post_chunked(chunks):
    from django.core.asgi import get_asgi_application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/auth/login/",
        "raw_path": b"/api/auth/login/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    comm = ApplicationCommunicator(get_asgi_application(), scope)
    for i, chunk in enumerate(chunks):
        await comm.send_input({"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1})
    start = await comm.receive_output(10)
    body = await comm.receive_output(10)
    return start["status"], json.loads(body["body"])


@pytest.mark.asyncio
async def test_chunked_body_over_the_limit_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    status, body = await post_chunked([b'{"email": "a@b.co", ', b'"password": "' + b"x" * 3000 + b'"}'])
    assert status == 413
    assert body["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.asyncio
async def test_chunked_body_under_the_limit_reaches_the_view(settings):
    status, body = await post_chunked([b'{"email": "nobody@b.co", ', b'"password": "wrong"}'])
    assert status == 401
    assert body["code"] == "INVALID_CREDENTIALS"
