"""Driver of the project-local PostgreSQL cluster: Debian's binaries, data under KETENLOG_HOME.

Sits under infra.services. State lives in `<KETENLOG_HOME>/postgres`: `data/` (the cluster,
listening on 127.0.0.1:KETENLOG_POSTGRES_PORT), `run/` (its Unix socket) and `postgres.log`.
initdb refuses to run as root, so as root the cluster belongs to Debian's `postgres` user and
every server command runs as that user.

Nobody is trusted: TCP needs a SCRAM-SHA-256 password, the socket admits only the superuser,
and only from the OS user that owns the cluster (and root, who runs `up` as root) by peer
authentication. The roles (infra.pg_roles) get random passwords on first start, kept in a
libpq passfile under KETENLOG_HOME (owner-only) that every DSN names with `passfile=`, so no
password is in a URL, an argument list or the environment. A cluster of an older run (trust)
is brought in step by the next `up`, which says what it changed.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from infra import pg_roles, procs
from infra.config import ServiceConfig
from infra.errors import InfraError
from infra.pg_passfile import ensure_passwords

Say = Callable[[str], None]

HOST = "127.0.0.1"
ROLE = pg_roles.OWNER
DATABASE = pg_roles.DATABASE
SUPERUSER = pg_roles.SUPERUSER
IDENT_MAP = "ketenlog"
SERVER_USER = "postgres"
BIN_GLOB = "/usr/lib/postgresql/*/bin"
CONF_NAME = "ketenlog.conf"
STOP_TIMEOUT_S = 60
# sun_path holds 108 bytes; longer socket paths make the server fail to start.
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class PgPaths:
    root: Path
    data: Path
    sockets: Path
    log_file: Path


@dataclass(frozen=True)
class PgStatus:
    pid: int | None
    accepting: bool
    log_file: Path


def paths(settings: ServiceConfig) -> PgPaths:
    root = settings.home / "postgres"
    return PgPaths(
        root=root, data=root / "data", sockets=root / "run", log_file=root / "postgres.log"
    )


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def find_bin_dir() -> Path | None:
    """Debian's newest PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin), or None."""
    candidates = [d for d in Path("/").glob(BIN_GLOB.lstrip("/")) if (d / "pg_ctl").exists()]
    return max(candidates, key=_version_key) if candidates else None


def ensure_binaries(say: Say) -> Path:
    """The server binaries' folder; installs Debian's postgresql package when root."""
    found = find_bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise InfraError(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; install them "
            "(sudo apt-get install -y postgresql) or set KETENLOG_DATABASE_URL to use an "
            "existing PostgreSQL"
        )
    say("postgres: installing Debian's postgresql package (apt-get) ...")
    env = procs.child_env({"DEBIAN_FRONTEND": "noninteractive"})
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise InfraError(
                f"`{' '.join(cmd)}` failed (exit {out.returncode}); install PostgreSQL by hand "
                "(apt-get install -y postgresql) or set KETENLOG_DATABASE_URL:\n"
                + "\n".join(out.stderr.strip().splitlines()[-20:])
            )
    found = find_bin_dir()
    if found is None:
        raise InfraError(
            "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/pg_ctl appeared"
        )
    return found


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user that runs the server when we are root; None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise InfraError(
            f"running as root, but there is no `{SERVER_USER}` user to run PostgreSQL as "
            "(initdb refuses root); reinstall Debian's postgresql package, which creates it"
        ) from None


def _run(cmd: list[str], p: PgPaths, timeout_s: float) -> subprocess.CompletedProcess[str]:
    user = _server_user()
    allowed = procs.child_env()
    env = {"PATH": allowed["PATH"], "LC_ALL": "C", "TZ": allowed.get("TZ", "UTC")}
    kwargs: dict[str, Any] = {}
    if user is not None:
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env |= {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name}
    try:
        return subprocess.run(
            cmd,
            cwd=p.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
            # Own session: the server must not get the terminal's Ctrl-C.
            start_new_session=True,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        raise InfraError(
            f"`{' '.join(cmd)}` did not finish within {timeout_s:.0f}s; see {p.log_file}"
        ) from None


def _prepare_dirs(p: PgPaths, say: Say) -> None:
    for folder in (p.root, p.sockets):
        folder.mkdir(parents=True, exist_ok=True)
    user = _server_user()
    if user is None:
        return
    # The server user must reach its folders through every parent folder.
    for parent in reversed(p.root.parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            say(f"postgres: making {parent} traversable (o+x) for the `{user.pw_name}` user")
            parent.chmod(mode | stat.S_IXOTH)
    for top, _dirs, files in os.walk(p.root):
        os.chown(top, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(top, name), user.pw_uid, user.pw_gid)


def _quote_conf(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_conf(*, port: int, socket_dir: Path | None) -> str:
    """The server settings ketenlog owns (included from postgresql.conf)."""
    sockets = str(socket_dir) if socket_dir is not None else ""
    return (
        "# Written by infra/postgres.py on every start; edits are overwritten.\n"
        f"listen_addresses = {_quote_conf(HOST)}\n"
        f"port = {port}\n"
        f"unix_socket_directories = {_quote_conf(sockets)}\n"
    )


def render_hba() -> str:
    """Who may connect how: nobody without a password over TCP; on the socket only the
    superuser, by peer authentication of the OS users in the ident map."""
    return (
        "# Written by infra/postgres.py: a password (TCP) or peer authentication (socket).\n"
        f"local all {SUPERUSER} peer map={IDENT_MAP}\n"
        "host  all all 127.0.0.1/32 scram-sha-256\n"
        "host  all all ::1/128 scram-sha-256\n"
    )


def render_ident(os_users: list[str]) -> str:
    """The OS users that may be the superuser on the socket: the cluster's owner (and root)."""
    lines = [f"{IDENT_MAP} {user} {SUPERUSER}" for user in sorted(set(os_users))]
    return "# Written by infra/postgres.py.\n" + "\n".join(lines) + "\n"


def _os_users() -> list[str]:
    """The cluster's OS owner, and who we are (root, when root runs `up`)."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    owner = _server_user()
    return [me] if owner is None else [owner.pw_name, me]


def _chown_to_server(*files: Path) -> None:
    user = _server_user()
    if user is not None:
        for path in files:
            os.chown(path, user.pw_uid, user.pw_gid)


def _write_config(settings: ServiceConfig, p: PgPaths) -> None:
    socket_path = p.sockets / f".s.PGSQL.{settings.postgres_port}"
    socket_dir = p.sockets if len(str(socket_path)) <= MAX_SOCKET_PATH else None
    (p.data / CONF_NAME).write_text(render_conf(port=settings.postgres_port, socket_dir=socket_dir))
    main_conf = p.data / "postgresql.conf"
    include = f"include_if_exists = {_quote_conf(CONF_NAME)}"
    if include not in main_conf.read_text():
        with main_conf.open("a") as fh:
            fh.write(f"\n# ketenlog: port, listen address and socket folder\n{include}\n")
    _chown_to_server(p.data / CONF_NAME, main_conf)


def _initdb(bin_dir: Path, p: PgPaths, say: Say, superuser_password: str) -> None:
    say(f"postgres: creating the cluster in {p.data}")
    # initdb reads the superuser's password from a file, not an argument: owner-only, and
    # gone once initdb is done.
    pwfile = p.root / ".initdb-password"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out_file:
        out_file.write(superuser_password + "\n")
    _chown_to_server(pwfile)
    try:
        out = _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(p.data),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "--encoding=UTF8",
                "--locale=C",
            ],
            p,
            timeout_s=300,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if out.returncode != 0:
        raise InfraError(
            f"initdb failed (exit {out.returncode}); delete {p.data} and run again:\n"
            + (out.stdout + out.stderr).strip()
        )


def running_pid(settings: ServiceConfig) -> int | None:
    """The postmaster pid of this instance's cluster when it runs, else None."""
    p = paths(settings)
    pid = procs.read_pid(p.data / "postmaster.pid")
    if pid is None or not procs.alive(pid):
        return None
    line = procs.cmdline(pid)
    return pid if "postgres" in line and str(p.data) in line else None


def check_port(settings: ServiceConfig) -> None:
    if not procs.port_free(HOST, settings.postgres_port):
        raise InfraError(
            f"port {settings.postgres_port} on {HOST} is already in use by another process, so "
            "the local PostgreSQL cannot listen there; stop that process or set "
            "KETENLOG_POSTGRES_PORT to a free port"
        )


def connectable(conninfo: str, timeout_s: int = 3) -> str | None:
    """None when conninfo accepts a connection and a query, else the reason."""
    try:
        with psycopg.connect(conninfo, connect_timeout=timeout_s) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None


def _superuser(settings: ServiceConfig, p: PgPaths, dbname: str) -> psycopg.Connection[Any]:
    """The superuser's connection: peer on the socket, else (no socket, or a cluster whose
    ident map is not loaded yet) SCRAM over TCP with the passfile's password."""
    hosts = [HOST]
    if (p.sockets / f".s.PGSQL.{settings.postgres_port}").exists():
        hosts.insert(0, str(p.sockets))
    failure: psycopg.Error | None = None
    for host in hosts:
        try:
            return psycopg.connect(
                host=host,
                port=settings.postgres_port,
                user=SUPERUSER,
                dbname=dbname,
                passfile=str(settings.postgres_passfile),
                autocommit=True,
                connect_timeout=10,
            )
        except psycopg.OperationalError as exc:
            failure = exc
    assert failure is not None
    raise failure


def _rewrite(path: Path, text: str) -> bool:
    """Write `text` to a server config file unless it holds it; True when it changed."""
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    _chown_to_server(path)
    return True


def _secure(settings: ServiceConfig, p: PgPaths, say: Say) -> None:
    """Roles with their passwords, the database, the grants, and pg_hba.conf without trust;
    harmless to repeat, and says what it changed."""
    passwords = ensure_passwords(settings.postgres_passfile, pg_roles.LOGIN_ROLES, say)
    hba = p.data / "pg_hba.conf"
    was_trust = any(
        line.split()[-1:] == ["trust"]
        for line in hba.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    with _superuser(settings, p, "postgres") as conn:
        # The passwords first: once the new pg_hba.conf is loaded, TCP needs them.
        pg_roles.ensure(conn, passwords, say)
        ident_changed = _rewrite(p.data / "pg_ident.conf", render_ident(_os_users()))
        if _rewrite(hba, render_hba()):
            say(
                "postgres: pg_hba.conf "
                + ("had trust; " if was_trust else "")
                + "now SCRAM-SHA-256 passwords over TCP and, on the socket, only the superuser "
                f"for the OS users {', '.join(sorted(set(_os_users())))} (peer)"
            )
            ident_changed = True
        if ident_changed:
            conn.execute("SELECT pg_reload_conf()")
            say("postgres: reloaded its authentication settings")
    with _superuser(settings, p, DATABASE) as conn:
        pg_roles.grant_in_database(conn)


def start(settings: ServiceConfig, say: Say) -> int:
    """Start the cluster unless it runs (creating it first if needed); returns its pid."""
    pid = running_pid(settings)
    if pid is not None:
        say(f"postgres: already running (pid {pid}) on {HOST}:{settings.postgres_port}")
        _secure_or_explain(settings, pid, say)
        return pid
    check_port(settings)
    bin_dir = ensure_binaries(say)
    p = paths(settings)
    _prepare_dirs(p, say)
    version_file = p.data / "PG_VERSION"
    if not version_file.exists():
        if p.data.exists() and any(p.data.iterdir()):
            raise InfraError(f"{p.data} exists but holds no cluster; delete it and run again")
        passwords = ensure_passwords(settings.postgres_passfile, pg_roles.LOGIN_ROLES, say)
        _initdb(bin_dir, p, say, passwords[SUPERUSER])
    data_major = version_file.read_text().strip()
    if data_major != bin_dir.parent.name:
        raise InfraError(
            f"the cluster in {p.data} was made by PostgreSQL {data_major}, the binaries are "
            f"{bin_dir.parent.name}; install postgresql-{data_major} or delete {p.data}"
        )
    _write_config(settings, p)
    say(f"postgres: starting PostgreSQL {data_major} on {HOST}:{settings.postgres_port}")
    out = _run(
        [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(p.data),
            "-l",
            str(p.log_file),
            "-w",
            "-t",
            str(int(settings.start_timeout_s)),
            "-s",
        ],
        p,
        timeout_s=settings.start_timeout_s + 30,
    )
    pid = running_pid(settings)
    if out.returncode != 0 or pid is None:
        reason = (out.stdout + out.stderr).strip()
        raise InfraError(
            f"PostgreSQL did not start on {HOST}:{settings.postgres_port} (pg_ctl exit "
            f"{out.returncode}: {reason}); its log ({p.log_file}) ends with:\n"
            f"{procs.tail(p.log_file)}"
        )
    _secure_or_explain(settings, pid, say)
    say(f"postgres: ready on {HOST}:{settings.postgres_port} (pid {pid})")
    return pid


def _secure_or_explain(settings: ServiceConfig, pid: int, say: Say) -> None:
    p = paths(settings)
    try:
        _secure(settings, p, say)
    except psycopg.Error as exc:
        raise InfraError(
            f"PostgreSQL runs (pid {pid}) but setting up its roles, passwords and "
            f"authentication failed: {exc}; see {p.log_file} (the passwords are in "
            f"{settings.postgres_passfile})"
        ) from exc


def stop(settings: ServiceConfig, say: Say) -> bool:
    """Stop this instance's cluster (fast shutdown, then immediate, then SIGKILL)."""
    pid = running_pid(settings)
    if pid is None:
        say("postgres: not running")
        return False
    p = paths(settings)
    say(f"postgres: stopping (pid {pid})")
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        for mode in ("fast", "immediate"):
            cmd = [str(bin_dir / "pg_ctl"), "stop", "-D", str(p.data), "-m", mode, "-w"]
            out = _run([*cmd, "-t", str(STOP_TIMEOUT_S), "-s"], p, timeout_s=STOP_TIMEOUT_S + 30)
            if out.returncode == 0 and procs.wait_gone(pid, 10):
                break
    if procs.alive(pid):
        procs.terminate(pid, 10, group=False)
        say("postgres: no clean shutdown, killed")
    # Backends exit with the postmaster; wait for any straggler of this cluster too.
    procs.wait_gone(pid, 10)
    say("postgres: stopped")
    return True


def status(settings: ServiceConfig) -> PgStatus:
    pid = running_pid(settings)
    accepting = pid is not None and connectable(settings.dsn) is None
    return PgStatus(pid=pid, accepting=accepting, log_file=paths(settings).log_file)
