"""`ketenlog serve` as the integration tests run it: a subprocess on a free port against a
test database, and a plain HTTP client that returns errors as responses. Tests about the
figures serve them open (KETENLOG_API_OPEN_FIGURES=1) unless they say otherwise; tests about
access give the server a token store of their own (`tokens`)."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra import pg_roles
from projections.api_tokens import TokenStore, subject_role
from schemas.topics import Org


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def analyst_setting(dsn: str) -> dict[str, str]:
    """On the local cluster (its DSNs name the passfile, which holds every role's password) the
    analyst role's URL for the same database, so `serve` reads the aggregates as it does in
    production: through the role PostgreSQL holds to the analyst views."""
    if "passfile" not in conninfo_to_dict(dsn):
        return {}
    return {"KETENLOG_ANALYST_DATABASE_URL": make_conninfo(dsn, user=pg_roles.ANALYST)}


@contextlib.contextmanager
def serving(dsn: str, **settings: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "KETENLOG_DATABASE_URL": dsn,
        **analyst_setting(dsn),
        "KETENLOG_API_OPEN_FIGURES": "1",
        **settings,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ketenlog.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/v1/openapi.json", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"ketenlog serve did not answer:\n{proc.communicate()[0]}")
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def tokens(folder: Path, *names: str) -> tuple[dict[str, str], dict[str, str]]:
    """A token store in `folder` with a token for each role or organisation named: the
    setting that points `serve` at it, and each name's Authorization header."""
    path = folder / "tokens.json"
    store = TokenStore(path)
    headers = {}
    for name in names:
        subject, role = subject_role(name, tuple(o.value for o in Org))
        headers[name] = f"Bearer {store.issue(subject, role).token}"
    return {"KETENLOG_API_TOKENS": str(path)}, headers


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def post(url: str, body: bytes, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def unfollowed(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One request as sent, a redirect not followed (urllib would follow it)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        conn.request(method, parts.path or "/")
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()
