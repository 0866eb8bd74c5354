"""PostgreSQL at the edge: connections and the versioned schema. The projections package is the
only one that imports psycopg; migrations are plain numbered SQL files applied on start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_MIGRATION = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every ketenlog process.
_MIGRATION_LOCK = 0x6B6574656E
# Live batches hold it shared, a replay's swap exclusively (projections.replay_store).
SWAP_LOCK = 0x6B6574656F


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("projections.migrations").iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 001.. without gaps, found {versions}")
    return found


LIVE = "public"
ANALYST = "analyst"
# The database role that reads only the analysts' views (made by `ketenlog up`, infra.pg_roles;
# on an existing server its administrator creates it). Its grants are renewed with the views.
ANALYST_ROLE = "ketenlog_analyst"


def migrate(conn: psycopg.Connection, schema: str = LIVE) -> list[int]:
    """Apply the migrations `schema` lacks, in one transaction; returns them. The live schema
    also gets the analysts' views again (they are not migrations: see views.sql). A replay
    migrates a fresh schema of its own. Safe when several processes start at once (an
    advisory lock serialises them)."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in migrations():
            if migration.version in done:
                continue
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration.version)
        if schema == LIVE:
            create_views(conn, ANALYST, LIVE)
    return applied


def views_sql(views: str, tables: str) -> str:
    """views.sql with its schemas filled in (both are identifiers this module chooses)."""
    for name in (views, tables):
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a plain schema name: {name!r}")
    text = resources.files("projections").joinpath("views.sql").read_text("utf-8")
    return text.replace("{views}", views).replace("{tables}", tables)


def create_views(conn: psycopg.Connection, views: str, tables: str) -> None:
    """(Re)create the analysts' views in schema `views` over the tables in schema `tables`;
    the caller's transaction makes the change atomic for readers."""
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(views)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(views)))
    conn.execute(views_sql(views, tables).encode())
    _grant_to_analyst(conn, views)


def _grant_to_analyst(conn: psycopg.Connection, views: str) -> None:
    """The analyst role may use the views' schema and read its views, nothing else (the views
    read the tables with their owner's rights)."""
    role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ANALYST_ROLE,)).fetchone()
    if role is None:
        return
    schema, reader = sql.Identifier(views), sql.Identifier(ANALYST_ROLE)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, reader))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, reader))


def as_analyst(conn: psycopg.Connection) -> bool:
    """True when this connection's role may act as the analyst role (SET ROLE)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)"
        " AND pg_has_role(current_user, %s, 'MEMBER')",
        (ANALYST_ROLE, ANALYST_ROLE),
    ).fetchone()
    return bool(row and row[0])


# For the connections that answer analysts: their queries are short, but a stock's plan
# (views.sql, `<view>_ends`: a set-returning call per delta, estimated at 1,000 rows each) passes
# jit_above_cost, and compiling it took 0.4-0.9 s against 0.1 s for running it (2026-12-03).
ANALYST_OPTIONS = "-c jit=off"


def connect(dsn: str, *, autocommit: bool = False, options: str = "") -> psycopg.Connection:
    """A connection that names itself in pg_stat_activity (`options`: ANALYST_OPTIONS or "")."""
    return psycopg.connect(dsn, autocommit=autocommit, application_name="ketenlog", options=options)
