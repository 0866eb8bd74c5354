"""The local cluster's roles and what each may do, set by the superuser (infra.postgres, on every
`up`): harmless to repeat, and it says what it changed.

- `ketenlog` (OWNER): owns the database and every table, migrates; the processor, replay, the
  CLI and `serve`'s person-level and health reads.
- `ketenlog_analyst` (ANALYST): reads the `analyst` schema's views and nothing else (USAGE on
  that schema, SELECT on its views, granted by projections.db whenever the views are made; the
  views run with their owner's rights, so no table grant is needed). `serve`'s aggregates.
- `ketenlog_auditor` (AUDITOR): reads everything (pg_read_all_data), writes nothing (read-only
  transactions); for an auditor's own SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from infra.pg_passfile import Passwords

Say = Callable[[str], None]

SUPERUSER = "postgres"
OWNER = "ketenlog"
ANALYST = "ketenlog_analyst"
AUDITOR = "ketenlog_auditor"
DATABASE = "ketenlog"
ANALYST_SCHEMA = "analyst"
LOGIN_ROLES = (SUPERUSER, OWNER, ANALYST, AUDITOR)

_CREATE = {OWNER: "LOGIN CREATEDB", ANALYST: "LOGIN", AUDITOR: "LOGIN"}
# Predefined roles each gets: DROP DATABASE ... WITH (FORCE) must also end autovacuum workers,
# which belong to no role; the auditor reads every table.
_MEMBER_OF = {OWNER: "pg_signal_backend", AUDITOR: "pg_read_all_data"}
_READ_ONLY = (ANALYST, AUDITOR)


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def ensure(conn: psycopg.Connection[Any], passwords: Passwords, say: Say) -> None:
    """Every login role exists with the passfile's password; the database exists, owned by
    OWNER. On a superuser connection in autocommit."""
    for role in LOGIN_ROLES:
        row = conn.execute(
            "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = %s", (role,)
        ).fetchone()
        if row is None:
            conn.execute(sql.SQL("CREATE ROLE {} " + _CREATE[role]).format(_ident(role)))
            say(f"postgres: created role {role}")
        if row is None or not row[0] or role in passwords.made:
            # The server gets the SCRAM verifier, never the password itself.
            verifier = conn.pgconn.encrypt_password(
                passwords[role].encode(), role.encode(), b"scram-sha-256"
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    _ident(role), sql.Literal(verifier.decode())
                )
            )
            say(f"postgres: set the password of role {role} (from the passfile)")
        if role in _MEMBER_OF:
            conn.execute(sql.SQL("GRANT {} TO {}").format(_ident(_MEMBER_OF[role]), _ident(role)))
        if role in _READ_ONLY:
            conn.execute(
                sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(_ident(role))
            )
    # The owner may act as the analyst (SET ROLE) to read a moment's views it built (`serve`'s
    # bekend-op); it gains nothing by it, the analyst may less.
    conn.execute(sql.SQL("GRANT {} TO {}").format(_ident(ANALYST), _ident(OWNER)))
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
    if exists.fetchone() is None:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(_ident(DATABASE), _ident(OWNER)))


def grant_in_database(conn: psycopg.Connection[Any]) -> None:
    """Inside the database: the analyst's grants on views made before the role existed (a
    cluster of an older run); projections.db grants them whenever it makes the views."""
    has_schema = conn.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (ANALYST_SCHEMA,)
    ).fetchone()
    if has_schema is None:
        return
    conn.execute(
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(_ident(ANALYST_SCHEMA), _ident(ANALYST))
    )
    conn.execute(
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
            _ident(ANALYST_SCHEMA), _ident(ANALYST)
        )
    )
