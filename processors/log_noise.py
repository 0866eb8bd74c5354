"""What the faust worker's libraries log as errors on a healthy run, and a logging filter that
drops exactly that, so `ketenlog process` (and the demo) show only errors that need a look.

- aiokafka asks for the consumer group's coordinator at start; while the broker is still
  electing it the answer is GroupCoordinatorNotAvailable, logged at ERROR and then retried.
- mode's thread keepalive logs "Thread keepalive is not responding" when the event loop is busy
  for more than three seconds, which a fold batch on a loaded machine is by design.

Anything else — another error of the coordinator lookup included — passes.
"""

from __future__ import annotations

import logging

# The loggers these come from: aiokafka's coordinator, and the modules of the faust consumer
# and producer threads (mode names a service's logger after the module of its class).
NOISY_LOGGERS = (
    "aiokafka.consumer.group_coordinator",
    "faust.transport.consumer",
    "faust.transport.drivers.aiokafka",
    "mode.threads",
)


class ExpectedNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Group Coordinator Request failed") and (
            "CoordinatorNotAvailable" in message
        ):
            return False
        return not message.startswith("Thread keepalive is not responding")


def quiet_expected_noise() -> None:
    """Attach the filter to the loggers that emit the expected noise (idempotent)."""
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedNoise) for f in logger.filters):
            logger.addFilter(ExpectedNoise())
