"""The worker's log filter drops the expected startup and busy-loop noise and nothing else."""

from __future__ import annotations

import logging

from aiokafka import errors

from processors.log_noise import NOISY_LOGGERS, quiet_expected_noise


def record(name: str, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, args, None)


def test_expected_noise_is_dropped_and_real_errors_pass() -> None:
    quiet_expected_noise()
    quiet_expected_noise()  # idempotent
    coordinator = logging.getLogger(NOISY_LOGGERS[0])
    assert len(coordinator.filters) == 1
    lookup = "Group Coordinator Request failed: %s"
    assert not coordinator.filter(
        record(coordinator.name, lookup, errors.GroupCoordinatorNotAvailableError())
    )
    assert coordinator.filter(
        record(coordinator.name, lookup, errors.GroupAuthorizationFailedError())
    )
    assert coordinator.filter(record(coordinator.name, "Unexpected error in heartbeat"))
    thread = logging.getLogger("faust.transport.consumer")
    assert not thread.filter(record(thread.name, "Thread keepalive is not responding..."))
    assert thread.filter(record(thread.name, "Consumer thread crashed"))
