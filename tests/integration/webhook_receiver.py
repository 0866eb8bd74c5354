"""A real HTTP webhook receiver on loopback for the integration tests: an aiohttp server in a
thread of its own, verifying every request's Standard Webhooks signature, answering as its
`script` says (fail, time out, recover), and keeping what it accepted in arrival order."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from domain.webhook_signing import SignatureError, secret_key, verify

# Given the request's number (1-based): (status, seconds to wait before answering).
Script = Callable[[int], tuple[int, float]]


@dataclass
class Received:
    secret: str = ""
    requests: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def receiver(script: Script) -> Iterator[tuple[str, Received]]:
    """Yields (url, what it received); the secret is set once the webhook is registered."""
    got = Received()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        with got.lock:
            got.requests += 1
            n = got.requests
        try:
            verify(secret_key(got.secret), dict(request.headers), body, int(time.time()))
        except SignatureError as exc:
            got.bad_signatures.append(str(exc))
            return web.Response(status=401)
        status, wait = script(n)
        if 200 <= status < 300 or wait:
            # Accepted (also when the answer comes too late for the sender: it was received).
            assert request.content_type == "application/cloudevents-batch+json"
            with got.lock:
                got.accepted.extend(json.loads(body))
        if wait:
            await asyncio.sleep(wait)
        got.statuses.append(status)
        return web.Response(status=status)

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        return runner

    def main() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(serve())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield f"http://127.0.0.1:{port[0]}/hook", got
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
