"""The one error of the infra layer: something the user can act on; the message says what to do.

Lives apart from services.py so the drivers (kafka_broker, postgres, topics) can raise it without
importing the module that composes them; `infra.services.InfraError` is this same class.
"""

from __future__ import annotations


class InfraError(Exception):
    """A service could not be started, reached or stopped; the message names the remedy."""
