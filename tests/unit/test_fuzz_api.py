"""The API's raw HTTP surface fuzzed (projections/http_api.py), below what schemathesis sends
(tests/integration/test_api_contract.py generates requests from the document, as text):
bytes that are no UTF-8 in the Authorization header, the query and the body; percent-encoded
garbage; NUL; enormous and deeply nested bodies; repeated and unknown parameters. The app
runs in-process on a loopback port with a database that is not there: whatever passes
validation meets the documented 503 of an unavailable database, so every hostile request must
get a 4xx problem (or that 503), never a 500, and the server answers the next request.
Budgets are fixed and the runs derandomized; the counts are in docs/security.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from urllib.parse import quote_from_bytes

import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from projections.api_spec import RESOURCES
from projections.api_tokens import TokenStore
from projections.disclosure import Disclosure
from projections.http_api import Api, make_app

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The API's answer when the database cannot be reached: documented, and not a crash.
UNAVAILABLE = 503
NOWHERE = "postgresql://nobody@127.0.0.1:9/nothing?connect_timeout=1"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> TokenStore:
    return TokenStore(tmp_path_factory.mktemp("tokens") / "tokens.json")


@pytest.fixture(scope="module")
def token(store: TokenStore) -> str:
    """The auditor's token, the one a real request carries."""
    return store.issue("auditor", "auditor").token


@pytest.fixture(scope="module")
def port(store: TokenStore) -> Iterator[int]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = int(s.getsockname()[1])
    api = Api(NOWHERE, Disclosure(5, 5), frozenset(), tokens=store)
    runner = web.AppRunner(make_app(api))

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", free).start()
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    assert started.wait(30), "the app did not start"
    yield free
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


def send(port: int, request: bytes) -> tuple[int, bytes]:
    """One raw request on its own connection: (status, body). aiohttp's parser answers a
    malformed request with a 400 and closes; when it closes before we are done sending (a body
    over its limit) the connection may be reset: what came before counts, status 0 if nothing."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        with contextlib.suppress(OSError):
            conn.sendall(request)  # Connection: close; the server closes after answering
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(1 << 16):
                chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return (int(head.split(b" ", 2)[1]) if head else 0), body


def _request(method: str, target: bytes, headers: dict[bytes, bytes], body: bytes = b"") -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers.items()]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _header_safe(data: bytes) -> bytes:
    """Any byte but the controls the parser refuses outright, so most reach the handler."""
    return bytes(b if b >= 0x20 and b != 0x7F else 0x3F for b in data)


def _assert_answered(status: int, body: bytes) -> None:
    assert status, "no answer: the connection was closed without one"
    assert status < 500 or status == UNAVAILABLE, (status, body[:500])
    if status >= 400 and body.startswith(b"{"):
        problem = json.loads(body)
        assert problem["status"] == status and problem["detail"], problem


BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"[" * 50_000 + b"]" * 50_000,
            b'{"persoon": "' + b"a" * 64 + b'", "bekendOp": "0001-01-01T00:00:00+01:00"}',
            b'{"persoon": "\\u0000", "bekendOp": null}',
            b'{"persoon": ' + b"9" * 5000 + b"}",
            b" " * (2 << 20),  # over aiohttp's 1 MiB body limit
        ]
    ),
    st.dictionaries(st.sampled_from(["persoon", "bekendOp", "x"]), st.text() | st.integers()).map(
        lambda d: json.dumps(d).encode()
    ),
)


@FUZZ
@given(auth=st.binary(max_size=120), body=BODIES)
@example(auth=b"Bearer \xff\xfe", body=b"{}")  # found by it: a 500 from the token comparison
def test_the_audit_resource_refuses_hostile_tokens_and_bodies_without_a_crash(
    port: int, token: str, auth: bytes, body: bytes
) -> None:
    for header in (_header_safe(auth), b"Bearer " + token.encode()):
        request = _request(
            "POST",
            b"/v1/audit/tijdlijn",
            {b"Authorization": header, b"Content-Type": b"application/json"},
            body,
        )
        _assert_answered(*send(port, request))


PARAMETERS = ["van", "tot", "periode", "indeling", "formaat", "bekend-op", "taakperiode", "groep"]
VALUES = st.binary(max_size=60) | st.sampled_from(
    [
        b"0001-01-01",
        b"9999-12-31",
        b"0001-01-01T00:00:00+01:00",
        b"9999-12-31T23:59:59-23:59",
        b"2026-02-30",
        b"\x00",
        b"x" * 10_000,
    ]
)


@FUZZ
@given(
    resource=st.sampled_from([*RESOURCES, "gezondheid", "openapi.json", "audit", ""])
    | st.binary(max_size=20).map(quote_from_bytes),
    query=st.lists(
        st.tuples(st.sampled_from(PARAMETERS) | st.text(max_size=10), VALUES), max_size=5
    ),
    raw_header=st.binary(max_size=60),
)
def test_every_figure_resource_answers_hostile_parameters_with_a_problem(
    port: int, resource: str, query: list[tuple[str, bytes]], raw_header: bytes
) -> None:
    encoded = "&".join(
        f"{quote_from_bytes(name.encode('utf-8', 'surrogatepass'))}={quote_from_bytes(value)}"
        for name, value in query
    )
    target = f"/v1/{resource}" + (f"?{encoded}" if encoded else "")
    headers = {
        b"Accept": _header_safe(raw_header),
        b"Origin": _header_safe(raw_header),
        b"Authorization": b"Bearer " + _header_safe(raw_header),
    }
    status, body = send(port, _request("GET", target.encode(), headers))
    _assert_answered(status, body)
    if status == 400 and body.startswith(b"{"):
        assert json.loads(body).get("invalidParams") or json.loads(body)["detail"]


def test_the_server_still_answers_after_the_fuzzing(port: int) -> None:
    status, body = send(port, _request("GET", b"/v1/openapi.json", {}))
    assert status == 200 and json.loads(body)["paths"]
