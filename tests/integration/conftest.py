"""Fixtures of the integration tests: a scratch database per test, and one small simulated
period published once per session and processed once into its own database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest

from producers.prepare import Preparer
from producers.pseudonym import person_key
from producers.publisher import Publisher
from producers.simulator import SimParams, simulate
from producers.submission import Submission
from tests.conftest import RunningServices
from tests.integration.pipeline import Published, until_idle
from tests.integration.scratch_db import scratch_database


@pytest.fixture
def fresh_db(services: RunningServices) -> Iterator[str]:
    with scratch_database(services.dsn) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def published(services: RunningServices) -> Published:
    """A small simulated period, published once for the session with its own chain key."""
    key = f"process-{uuid.uuid4().hex}".encode()
    sim = simulate(
        SimParams(seed=21, scale=0.004, start=date(2026, 4, 1), end=date(2026, 5, 31)),
        chain_key=key,
    )
    preparer = Preparer(key, services.settings.oin_prefix)
    publishers: dict[str, Publisher] = {}
    keys: set[str] = set()
    submitted: list[tuple[str, Submission]] = []
    for org, sub in sim.submissions():
        submitted.append((org.value, sub))
        pub = publishers.get(org.value)
        if pub is None:
            pub = publishers[org.value] = Publisher(
                org, preparer, services.kafka(org.value), signer=services.signer(org.value)
            )
        pub.publish(sub)
        if sub.v_nummer:
            keys.add(person_key(sub.v_nummer, key))
    for pub in publishers.values():
        pub.flush()
        pub.close()
    locations = {f.subject for f in sim.effective if f.type == "LocationOpened"}
    return Published(key, keys, sim.truth, locations, tuple(submitted))


@pytest.fixture(scope="session")
def processed_db(services: RunningServices, published: Published) -> Iterator[str]:
    """A database the processor filled from the whole log, the published period included."""
    with scratch_database(services.dsn) as dsn:
        until_idle(services, dsn, f"g-{uuid.uuid4().hex[:8]}")
        yield dsn
