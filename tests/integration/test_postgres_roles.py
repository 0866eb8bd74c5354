"""PostgreSQL is not open: passwords over TCP, an analyst role held to the analyst views, an
auditor that cannot write, and a cluster of an older run (trust) brought in step by `up`."""

from __future__ import annotations

import shutil
import socket
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra import pg_roles, postgres
from ketenlog.settings import DbRole, Settings, load
from projections import as_known_at
from projections.db import as_analyst, migrate
from tests.conftest import RunningServices
from tests.integration.scratch_db import scratch_database
from tests.integration.serving import get, serving

pytestmark = pytest.mark.integration


@pytest.fixture
def migrated(services: RunningServices) -> Iterator[str]:
    """A scratch database with the projections' tables and the analyst views."""
    if not services.settings.starts_postgres:
        pytest.skip("the roles of an external server are its administrator's (docs/security.md)")
    with scratch_database(services.dsn) as dsn:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        yield dsn


def _as(settings: Settings, role: DbRole, database_dsn: str) -> str:
    """`role`'s DSN on the database of `database_dsn`."""
    return make_conninfo(
        settings.dsn_for(role), dbname=str(conninfo_to_dict(database_dsn)["dbname"])
    )


def test_the_analyst_reads_the_views_and_no_table(services: RunningServices, migrated: str) -> None:
    with psycopg.connect(_as(services.settings, "analyst", migrated)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (pg_roles.ANALYST,)
        assert conn.execute("SELECT count(*) FROM analyst.inflow").fetchone() == (0,)
        conn.execute("SELECT * FROM analyst.decisions")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("SELECT * FROM public.inflow_items")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("SELECT * FROM public.timeline_events")


def test_serve_reads_the_aggregates_as_the_analyst(
    services: RunningServices, migrated: str
) -> None:
    with serving(migrated) as base:
        status, _, _ = get(f"{base}/v1/instroom")
        assert status == 200
        with psycopg.connect(migrated) as conn:
            users = conn.execute(
                "SELECT usename FROM pg_stat_activity WHERE application_name = 'ketenlog-serve'"
                " AND datname = current_database()"
            ).fetchall()
    assert users == [(pg_roles.ANALYST,)]


def test_a_moments_views_are_read_as_the_analyst(migrated: str) -> None:
    # What serve does for bekend-op: the owner builds the moment's views, then reads as analyst.
    with psycopg.connect(migrated) as conn, conn.transaction(force_rollback=True):
        views = as_known_at.prepare(conn, datetime.now(UTC))
        assert as_analyst(conn)
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(pg_roles.ANALYST)))
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(views, "inflow"))
        assert conn.execute(query).fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("SELECT * FROM public.inflow_items")


def test_the_auditor_reads_the_tables_and_writes_nothing(
    services: RunningServices, migrated: str
) -> None:
    with psycopg.connect(_as(services.settings, "auditor", migrated)) as conn:
        assert conn.execute("SELECT count(*) FROM public.timeline_events").fetchone() == (0,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM public.timeline_events")


def test_tcp_without_the_password_is_refused(services: RunningServices) -> None:
    if not services.settings.starts_postgres:
        pytest.skip("an external server's authentication is its administrator's")
    port = services.settings.postgres_port
    for role in pg_roles.LOGIN_ROLES:
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(
                host="127.0.0.1", port=port, user=role, dbname="postgres", passfile="/dev/null"
            ).close()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(
                host="127.0.0.1", port=port, user=role, dbname="postgres", password="guess"
            ).close()
    passfile = services.settings.postgres_passfile
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_brings_a_trust_cluster_of_an_older_run_in_step(services: RunningServices) -> None:
    if not services.settings.starts_postgres:
        pytest.skip("needs the local cluster's binaries")
    # Inside the session's home: PostgreSQL's user must be able to reach it when we are root.
    home = services.settings.home / "test-instances" / f"trust-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    instance = load({"KETENLOG_HOME": str(home), "KETENLOG_POSTGRES_PORT": str(_free_port())})
    try:
        postgres.start(instance, lambda _: None)
        postgres.stop(instance, lambda _: None)
        # What an older run left: trust everywhere and no passwords.
        hba = postgres.paths(instance).data / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        instance.postgres_passfile.unlink()
        said: list[str] = []
        postgres.start(instance, said.append)
        assert any("pg_hba.conf had trust" in line for line in said), said
        assert any("made passwords" in line for line in said), said
        assert "trust" not in hba.read_text()
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(
                host="127.0.0.1",
                port=instance.postgres_port,
                user=pg_roles.OWNER,
                dbname=pg_roles.DATABASE,
                passfile="/dev/null",
            ).close()
        with psycopg.connect(instance.dsn) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (pg_roles.OWNER,)
    finally:
        postgres.stop(instance, lambda _: None)
        shutil.rmtree(home, ignore_errors=True)
