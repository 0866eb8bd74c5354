"""Which faults a processor rides out and which stop it: a fault of the store or the broker
(a lost connection, a restart, a timeout, a deadlock) goes away when tried again; any other
error comes back on every try with the same records, so retrying it only hides it."""

from __future__ import annotations

import psycopg
from aiokafka.errors import KafkaError, KafkaTimeoutError


def is_transient(exc: BaseException) -> bool:
    """True for a fault that trying the same records again can get past."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True  # connection lost, server restart, deadlock or serialization failure
    if isinstance(exc, KafkaTimeoutError):
        return True
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)  # not: authorisation refused, record too large, ...
    return isinstance(exc, OSError | TimeoutError)
