"""Which faults a processor rides out (processors.faults): those of the store or the broker,
not errors that the same records would raise again."""

from __future__ import annotations

import psycopg
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)

from processors.faults import is_transient


@pytest.mark.parametrize(
    "fault",
    [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.InterfaceError("the connection is closed"),
        KafkaConnectionError("broker down"),
        KafkaTimeoutError(),
        NotLeaderForPartitionError(),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_a_fault_of_the_store_or_broker_is_tried_again(fault: Exception) -> None:
    assert is_transient(fault)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad value"),
        KeyError("field"),
        TypeError("not a str"),
        psycopg.errors.StringDataRightTruncation("value too long"),
        psycopg.errors.UniqueViolation("duplicate key"),
        TopicAuthorizationFailedError(),
        MessageSizeTooLargeError(),
    ],
)
def test_an_error_the_same_records_raise_again_is_not(error: Exception) -> None:
    assert not is_transient(error)
