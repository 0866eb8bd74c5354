"""What the API's write side (`POST /v1/gebeurtenissen`) needs from the publishing edge
(ketenlog.ingest), so projections.http_api stays free of Kafka and the publisher: an organisation's
request in, the `Publicatie` answer out, or an `IngestProblemError` to answer with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class IngestProblemError(Exception):
    """A request answered with a problem: `invalid` names each event and field, `retry_after`
    (seconds) when sending it again later may succeed."""

    def __init__(
        self,
        status: int,
        detail: str,
        invalid: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.invalid = invalid or []
        self.retry_after = retry_after


# (organisation code, Content-Type, body, accept the valid ones) -> the Publicatie as JSON.
IngestFn = Callable[[str, str | None, bytes, bool], Awaitable[dict[str, Any]]]
