"""Fixtures shared by every test: the settings, and the real Kafka and PostgreSQL that
integration tests (marked `pytest.mark.integration`) run against.

`services` comes up once per session, in this order of preference:
1. KETENLOG_KAFKA_BOOTSTRAP / KETENLOG_DATABASE_URL name existing services: those are used.
2. A Docker engine answers: throwaway containers through testcontainers (imported lazily).
3. Otherwise the project's own local services (`infra.services.up`, no Docker needed); at the
   end of the session only what this session started is stopped.
A test that needs the services and cannot get them fails; it never skips.

Markers are given by place and name, not by hand: everything under tests/integration is
`integration`; tests marked `calibration` (the national-year check, ~9 minutes) run when no
marker expression is given (`./ketenlog.sh test`, CI) or when the expression names
`calibration` (`-m calibration`), and are left out of any other selection, so
`pytest -m "not integration"` is the fast unit suite.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import services as infra_services
from infra.signing_keys import KeyStore
from ketenlog import settings as settings_module
from ketenlog.settings import Settings
from schemas.access import KafkaAccess, principal_of
from schemas.signature import Signer


@dataclass(frozen=True)
class RunningServices:
    """The services of this test session; `settings` points at them (use it, not `load()`)."""

    settings: Settings
    started_here: tuple[str, ...]
    how: str

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap

    @property
    def dsn(self) -> str:
        return self.settings.dsn

    def kafka(self, who: str) -> KafkaAccess:
        """The client settings of a principal (`IND`, `coa`, `auditor`, `admin`, ...)."""
        return self.settings.kafka(principal_of(who))

    @property
    def kafka_env(self) -> dict[str, str]:
        """The settings a `ketenlog` subprocess needs to reach this session's Kafka."""
        return kafka_env(self.settings)

    def signer(self, org: str) -> Signer:
        """The organisation's signing key under the session's settings, as `publish` uses."""
        return KeyStore(self.settings.signing_dir).signer(org)[0]


def kafka_env(settings: Settings) -> dict[str, str]:
    env = {
        "KETENLOG_KAFKA_BOOTSTRAP": settings.bootstrap,
        "KETENLOG_KAFKA_CREDENTIALS_DIR": str(settings.kafka_credentials_dir),
    }
    if settings.kafka_insecure:
        env["KETENLOG_KAFKA_INSECURE"] = "1"
    return env


INTEGRATION = Path(__file__).resolve().parent / "integration"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)
    expression = config.getoption("markexpr") or ""
    if not expression or "calibration" in expression:
        return
    left_out = [item for item in items if item.get_closest_marker("calibration")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("calibration")]


def _say(line: str) -> None:
    print(f"[services] {line}", file=sys.stderr)


def _up(settings: Settings) -> None:
    try:
        infra_services.up(settings, _say)
    except infra_services.InfraError as exc:
        pytest.fail(f"integration services could not be brought up: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return settings_module.load()


def _docker_answers() -> bool:
    try:
        # Imported by name: only when the container route is tried, and untyped.
        docker: Any = importlib.import_module("docker")
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@contextlib.contextmanager
def _containers(settings: Settings) -> Iterator[Settings]:
    """Kafka 4.1 (KRaft) and PostgreSQL in throwaway containers; not exercised in CI."""
    from testcontainers.community.kafka import KafkaContainer  # noqa: PLC0415
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415

    kafka: Any = KafkaContainer("confluentinc/cp-kafka:8.1.0").with_kraft()
    pg: Any = PostgresContainer("postgres:15", username="ketenlog", dbname="ketenlog")
    with kafka, pg:
        yield dataclasses.replace(
            settings,
            kafka_bootstrap=kafka.get_bootstrap_server(),
            database_url=pg.get_connection_url(driver=None),
            # The container's Kafka is plaintext, without an authoriser.
            kafka_insecure=True,
        )


@pytest.fixture(scope="session")
def services(settings: Settings) -> Iterator[RunningServices]:
    if not settings.starts_kafka and not settings.starts_postgres:
        _up(settings)
        yield RunningServices(settings, (), "existing (KETENLOG_* settings)")
        return
    if settings.starts_kafka and settings.starts_postgres and _docker_answers():
        with _containers(settings) as in_docker:
            _up(in_docker)
            yield RunningServices(in_docker, ("kafka", "postgres"), "docker (testcontainers)")
        return

    before = {svc.name: svc.up for svc in infra_services.status(settings).services}
    _up(settings)
    started = tuple(
        name
        for name, local in (
            ("kafka", settings.starts_kafka),
            ("postgres", settings.starts_postgres),
        )
        if local and not before.get(name, False)
    )
    try:
        yield RunningServices(settings, started, "local (infra.services.up)")
    finally:
        # Marking what was already running as external makes `down` leave it alone.
        only_ours = dataclasses.replace(
            settings,
            kafka_bootstrap=None if "kafka" in started else settings.bootstrap,
            database_url=None if "postgres" in started else settings.dsn,
        )
        infra_services.down(only_ours, _say)
