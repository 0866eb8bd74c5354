"""Driver of the local Apache Kafka broker: Maven Central jars, plain `java`, KRaft, one node.

Sits under infra.services, which composes it with the PostgreSQL driver and topic creation. All
state lives under `<KETENLOG_HOME>/kafka`:

    cache/kafka-<v>-log4j-<v>/libs   the broker's jars (Maven's ~/.m2 is the download cache)
    data-<kafka version>/            the KRaft log dirs (formatted on first start)
    run/                             effective server.properties, pid file, broker log, tmp dir
    tls/                             the local CA and the broker's certificate (kafka_tls)
    credentials/                     each principal's client settings, owner-only (the default
                                     KETENLOG_KAFKA_CREDENTIALS_DIR; kafka_security)

Secure by default: SASL_SSL (SCRAM-SHA-512) for clients, an internal controller listener, the
StandardAuthorizer denying what no ACL allows. The admin and the broker's own SCRAM users are
written into the storage when it is formatted (`StorageTool format --add-scram`); storage
formatted in plaintext mode gets them once through a short plaintext start on loopback.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from base64 import urlsafe_b64encode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra import kafka_security, kafka_tls, procs
from infra.config import ServiceConfig
from infra.errors import InfraError
from schemas.access import ADMIN, BROKER, CONTROLLER, SCRAM, KafkaAccess

Say = Callable[[str], None]

HERE = Path(__file__).resolve().parent / "kafka"
POM = HERE / "pom.xml"
TEMPLATE = HERE / "server.properties"
LISTENERS_SECURE = HERE / "listeners-secure.properties"
LISTENERS_PLAINTEXT = HERE / "listeners-plaintext.properties"
LOG4J_CONFIG = HERE / "log4j2.properties"
HOST = "127.0.0.1"
HEAP = ["-Xms256m", "-Xmx768m"]
# The JVM flags of Kafka's bin/kafka-run-class.sh, minus JMX and GC log files.
JVM_FLAGS = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
]
STOP_TIMEOUT_S = 30.0
MAVEN_TIMEOUT_S = 1800.0
FORMAT_TIMEOUT_S = 120.0

# Popen objects of brokers this process started, so they are reaped (no zombies) when stopped.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class BrokerPaths:
    root: Path
    libs: Path
    data: Path
    run: Path

    @property
    def properties(self) -> Path:
        return self.run / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.run / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.run / "kafka.log"

    @property
    def tmp(self) -> Path:
        return self.run / "tmp"

    @property
    def scram_marker(self) -> Path:
        """Present once the storage holds the admin's and the broker's SCRAM users."""
        return self.data / ".ketenlog-scram"


@dataclass(frozen=True)
class BrokerSecrets:
    """What the secure listeners need: passwords of the broker's own users, the TLS files."""

    broker_password: str
    controller_password: str
    keystore: Path
    truststore: Path


@dataclass(frozen=True)
class BrokerStatus:
    pid: int | None
    listening: bool
    log_file: Path


def log4j_version(kafka_version: str) -> str:
    """The log4j2 version a Kafka release ships with (4.0/4.1: 2.24.3; 4.2 and later: 2.25.3)."""
    match = re.match(r"(\d+)\.(\d+)", kafka_version)
    if match is None:
        raise InfraError(
            f"KETENLOG_KAFKA_VERSION={kafka_version!r} is not a Kafka version such as 4.1.1"
        )
    major, minor = int(match.group(1)), int(match.group(2))
    if major < 4:
        raise InfraError(
            f"Kafka {kafka_version} is not supported: ketenlog runs Kafka 4.x in KRaft mode; "
            "set KETENLOG_KAFKA_VERSION to a 4.x version (default 4.1.1)"
        )
    return "2.24.3" if (major, minor) < (4, 2) else "2.25.3"


def paths(settings: ServiceConfig) -> BrokerPaths:
    root = settings.home / "kafka"
    version = settings.kafka_version
    libs = root / "cache" / f"kafka-{version}-log4j-{log4j_version(version)}" / "libs"
    return BrokerPaths(root=root, libs=libs, data=root / f"data-{version}", run=root / "run")


def _escape(value: Path | str) -> str:
    # java.util.Properties treats a backslash as an escape character.
    return str(value).replace("\\", "\\\\")


def render_properties(
    template: str,
    *,
    broker_port: int,
    controller_port: int,
    log_dir: Path,
    secrets: BrokerSecrets | None = None,
) -> str:
    """The effective server.properties: the template with the listeners (secure with secrets,
    else plaintext), ports and log dir filled in."""
    values: dict[str, str | int] = {
        "broker_port": broker_port,
        "controller_port": controller_port,
        "log_dir": _escape(log_dir),
    }
    if secrets is None:
        listeners = LISTENERS_PLAINTEXT.read_text()
    else:
        listeners = LISTENERS_SECURE.read_text()
        values |= {
            "broker_password": secrets.broker_password,
            "controller_password": secrets.controller_password,
            "keystore": _escape(secrets.keystore),
            "truststore": _escape(secrets.truststore),
        }
    return template.replace("{listeners}", listeners.strip()).format(**values)


def parse_properties(text: str) -> dict[str, str]:
    """The key=value pairs of a simple one-line-per-key .properties text (last one wins)."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, _, value = line.partition("=")
        result[key.strip()] = value.strip()
    return result


def new_cluster_id() -> str:
    """A KRaft cluster id, encoded like org.apache.kafka.common.Uuid (22 chars base64url)."""
    while True:
        cid = urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        # Uuid.randomUuid never yields an id starting with '-' (it would read as an option).
        if not cid.startswith("-"):
            return cid


def java_command() -> str:
    """The java executable (17 or newer), or an InfraError saying what to install."""
    java = shutil.which("java")
    if java is None:
        raise InfraError(
            "java not found: the local Kafka broker needs Java 17 or newer; install it "
            "(apt-get install -y openjdk-17-jre-headless) or set KETENLOG_KAFKA_BOOTSTRAP "
            "to use an existing Kafka"
        )
    out = subprocess.run(
        [java, "-version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=procs.child_env(),
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match is not None and match.group(2):
        major = int(match.group(2))  # "1.8.0" is Java 8
    if major < 17:
        raise InfraError(
            f"{java} is Java {major or 'of unknown version'}; Kafka 4.x needs Java 17 or newer: "
            "install openjdk-17-jre-headless"
        )
    return java


def maven_command() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError(
            "mvn not found: the Kafka jars are fetched from Maven Central with Maven; install it "
            "(apt-get install -y maven) or set KETENLOG_KAFKA_BOOTSTRAP to use an existing Kafka"
        )
    return mvn


def _gist(output: str, limit: int = 20) -> str:
    """The telling lines of a tool's output, without colour codes, stack frames, boilerplate."""
    boilerplate = ("re-run maven", "for more information about the errors")
    kept = []
    for raw in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines():
        line = raw.rstrip()
        bare = line.removeprefix("[ERROR]").strip()
        if not bare or line.lstrip().startswith("at ") or line.lstrip().startswith("..."):
            continue
        if bare.startswith("[Help") or any(marker in bare.lower() for marker in boilerplate):
            continue
        kept.append(line)
    return "\n".join(kept[:limit])


def death_reason(log_tail: str) -> str:
    """' (<why>)' from a dead broker's log: its last exception message, else its last ERROR."""
    exceptions = re.findall(r"^\S*(?:Exception|Error)\b:? .*$", log_tail, re.MULTILINE)
    errors = re.findall(r"^.*\b(?:ERROR|FATAL)\b.*$", log_tail, re.MULTILINE)
    found = exceptions or errors
    return f" ({found[-1].strip()})" if found else ""


def fetch(settings: ServiceConfig, say: Say) -> Path:
    """The folder of the broker's jars, resolved by Maven on first use."""
    p = paths(settings)
    marker = p.libs / ".complete"
    if marker.exists():
        return p.libs
    mvn = maven_command()
    version = settings.kafka_version
    tmp = p.libs.with_name(f"libs.tmp.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    say(f"kafka: fetching the Kafka {version} jars with Maven (first time only) ...")
    started = time.monotonic()
    cmd = [
        mvn,
        "-B",
        "-q",
        # -U: retry versions whose earlier lookup failed (Maven caches such failures).
        "-U",
        "-Dstyle.color=never",
        "-f",
        str(POM),
        f"-Dkafka.version={version}",
        f"-Dlog4j2.version={log4j_version(version)}",
        f"-Dkafka.libs.dir={tmp}",
        "dependency:copy-dependencies",
    ]
    try:
        out = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=MAVEN_TIMEOUT_S,
            check=False,
            env=procs.child_env(),
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InfraError(
            f"Maven did not finish fetching the Kafka {version} jars within "
            f"{MAVEN_TIMEOUT_S:.0f}s; check that Maven Central is reachable and run again"
        ) from None
    jars = {j.name for j in tmp.glob("*.jar")}
    if out.returncode != 0 or f"kafka_2.13-{version}.jar" not in jars:
        shutil.rmtree(tmp, ignore_errors=True)
        output = _gist(out.stdout + out.stderr)
        raise InfraError(
            f"Maven could not fetch the Kafka {version} jars (exit {out.returncode}); is "
            f"org.apache.kafka:kafka_2.13:{version} on Maven Central and Maven Central "
            f"reachable? Set KETENLOG_KAFKA_VERSION to a served 4.x version.\n{output}"
        )
    if not any(j.startswith("log4j-slf4j-impl-") for j in jars):
        shutil.rmtree(tmp, ignore_errors=True)
        raise InfraError(f"log4j-slf4j-impl is missing after Maven; check {POM}")
    shutil.rmtree(p.libs, ignore_errors=True)
    os.replace(tmp, p.libs)
    # Only now is the cache complete: an interrupted fetch leaves no marker and is redone.
    marker.touch()
    say(f"kafka: {len(jars)} jars in {p.libs} ({time.monotonic() - started:.0f}s)")
    return p.libs


def _our_broker(pid: int, p: BrokerPaths) -> bool:
    line = procs.cmdline(pid)
    return "kafka.Kafka" in line and str(p.properties) in line


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    return procs.alive(pid)


def _scan(p: BrokerPaths) -> list[int]:
    """Pids of brokers running on this instance's properties file (e.g. after a lost pid file)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _our_broker(int(entry.name), p) and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def running_pid(settings: ServiceConfig) -> int | None:
    """The pid of this instance's broker when it runs (started by any process), else None."""
    p = paths(settings)
    pid = procs.read_pid(p.pid_file)
    if pid is not None and _alive(pid) and _our_broker(pid, p):
        return pid
    found = _scan(p)
    return found[0] if found else None


def check_ports(settings: ServiceConfig) -> None:
    """InfraError when a port the broker needs is taken by another process."""
    if settings.kafka_port == settings.kafka_controller_port:
        raise InfraError(
            f"KETENLOG_KAFKA_PORT and KETENLOG_KAFKA_CONTROLLER_PORT are both "
            f"{settings.kafka_port}; the broker needs two different ports"
        )
    for port, setting in (
        (settings.kafka_port, "KETENLOG_KAFKA_PORT"),
        (settings.kafka_controller_port, "KETENLOG_KAFKA_CONTROLLER_PORT"),
    ):
        if not procs.port_free(HOST, port):
            raise InfraError(
                f"port {port} on {HOST} is already in use by another process, so the local "
                f"Kafka broker cannot listen there; stop that process or set {setting} to a "
                "free port"
            )


def _storage_tool(java: str, p: BrokerPaths) -> list[str]:
    return [
        java,
        "-Xmx256m",
        "-Djava.awt.headless=true",
        f"-Djava.io.tmpdir={p.tmp}",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-Dkafka.root.loglevel=WARN",
        "-cp",
        f"{p.libs}/*",
        "kafka.tools.StorageTool",
    ]


def java_argfile_text(args: list[str]) -> str:
    """`args` in the java launcher's @argfile syntax: each one quoted, one per line."""
    return "".join('"' + a.replace("\\", "\\\\").replace('"', '\\"') + '"\n' for a in args)


@contextmanager
def java_argfile(args: list[str], folder: Path) -> Iterator[Path]:
    """An owner-only @argfile holding `args` in `folder`, removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="args-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(java_argfile_text(args))
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _format_storage(java: str, p: BrokerPaths, say: Say, scram: dict[str, str]) -> None:
    """Format the KRaft storage on first start; with `scram` (user -> password), bootstrap those
    SCRAM-SHA-512 users into the metadata (they exist before any client can connect)."""
    if (p.data / "meta.properties").exists():
        return
    cluster_id = new_cluster_id()
    say(f"kafka: formatting storage in {p.data} (cluster id {cluster_id})")
    cmd = [
        *_storage_tool(java, p),
        "format",
        "--cluster-id",
        cluster_id,
        "--config",
        str(p.properties),
        "--standalone",
        "--ignore-formatted",
    ]
    for user, password in scram.items():
        cmd += ["--add-scram", f"{SCRAM}=[name={user},password={password}]"]
    # The passwords go to the launcher in an owner-only argument file, not on argv, where any
    # local user could read them in /proc/<pid>/cmdline while the tool runs.
    with java_argfile(cmd[1:], p.tmp) as argfile:
        out = subprocess.run(
            [java, f"@{argfile}"],
            capture_output=True,
            text=True,
            timeout=FORMAT_TIMEOUT_S,
            check=False,
            env=procs.child_env(),
        )
    if out.returncode != 0:
        raise InfraError(
            f"formatting the Kafka storage in {p.data} failed (exit {out.returncode}); delete "
            f"that folder to start afresh:\n{_gist(out.stdout + out.stderr)}"
        )
    if scram:
        p.scram_marker.touch()


def _secrets(settings: ServiceConfig, say: Say) -> tuple[BrokerSecrets, dict[str, str]]:
    """The TLS files and the passwords of the admin and the broker's own users, made on first
    use and kept owner-only; also the SCRAM users the storage must hold (name -> password)."""
    p = paths(settings)
    tls, made = kafka_tls.ensure(p.root)
    for what in made:
        say(f"kafka: made {what}")
    folder = settings.kafka_credentials_dir
    passwords: dict[str, str] = {}
    for user in (ADMIN, BROKER, CONTROLLER):
        stored = kafka_security.load(folder, user)
        if stored is None or not stored.password:
            if (p.data / "meta.properties").exists() and p.scram_marker.exists():
                raise InfraError(
                    f"the credentials of {user!r} are missing from {folder}, but the broker's "
                    f"storage {p.data} was made with them; restore them, or `ketenlog down` "
                    "and delete that folder to start afresh (its topics are lost)"
                )
            stored = kafka_security.secured_access(
                f"{HOST}:{settings.kafka_port}",
                user,
                kafka_security.new_password(),
                str(tls.ca_cert),
            )
            kafka_security.store(folder, stored)
        passwords[user] = stored.password or ""
    secrets_ = BrokerSecrets(
        broker_password=passwords[BROKER],
        controller_password=passwords[CONTROLLER],
        keystore=tls.broker,
        truststore=tls.ca_cert,
    )
    return secrets_, {ADMIN: passwords[ADMIN], BROKER: passwords[BROKER]}


def _write_properties(settings: ServiceConfig, secrets_: BrokerSecrets | None) -> None:
    p = paths(settings)
    text = render_properties(
        TEMPLATE.read_text(),
        broker_port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        log_dir=p.data,
        secrets=secrets_,
    )
    # Owner-only: the secure properties hold the broker's own passwords.
    kafka_tls.write_private(p.properties, text.encode())


def _launch(java: str, settings: ServiceConfig) -> subprocess.Popen[bytes]:
    p = paths(settings)
    if p.log_file.exists():
        os.replace(p.log_file, p.log_file.with_name("kafka.log.1"))
    cmd = [
        java,
        *HEAP,
        *JVM_FLAGS,
        f"-Djava.io.tmpdir={p.tmp}",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{p.libs}/*",
        "kafka.Kafka",
        str(p.properties),
    ]
    with p.log_file.open("ab") as log:
        # Own session: the broker outlives this process and ignores the terminal's Ctrl-C.
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=p.run,
            start_new_session=True,
            env=procs.child_env(),
        )
    _children[child.pid] = child
    p.pid_file.write_text(f"{child.pid}\n")
    return child


def _add_scram_to_plaintext_storage(
    java: str, settings: ServiceConfig, say: Say, scram: dict[str, str]
) -> None:
    """Storage formatted in plaintext mode has no SCRAM users, and formatted storage cannot
    take them from StorageTool: start it once in plaintext on loopback, set them through the
    admin API, stop it. Only ever once per storage (the marker records it)."""
    p = paths(settings)
    say("kafka: this storage was made in plaintext mode; adding its SCRAM users (once)")
    _write_properties(settings, None)
    child = _launch(java, settings)
    try:
        wait_ready(settings, say, child.pid)
        client = kafka_security.admin_client(KafkaAccess(settings.bootstrap))
        try:
            kafka_security.upsert_users(client, scram)
        finally:
            client.close()
    finally:
        stop(settings, lambda _line: None)
    p.scram_marker.touch()


def running_secure(settings: ServiceConfig) -> bool | None:
    """Whether the running broker's listener is SASL_SSL (None when it runs on no known file)."""
    try:
        props = parse_properties(paths(settings).properties.read_text())
    except FileNotFoundError:
        return None
    return props.get("listeners", "").startswith("SASL_SSL://")


def start(settings: ServiceConfig, say: Say, *, wait: bool = True) -> int:
    """Start the broker unless it runs; returns its pid. With wait, also wait until ready."""
    p = paths(settings)
    pid = running_pid(settings)
    if pid is not None:
        say(f"kafka: already running (pid {pid}) on {HOST}:{settings.kafka_port}")
        if str(p.libs) not in procs.cmdline(pid):
            say(
                f"kafka: note: that broker is not Kafka {settings.kafka_version} "
                "(KETENLOG_KAFKA_VERSION); `ketenlog down` and `ketenlog up` switch versions"
            )
        secure = running_secure(settings)
        if secure is not None and secure == settings.kafka_insecure:
            raise InfraError(
                f"the running broker is {'secured' if secure else 'plaintext'}, but "
                f"KETENLOG_KAFKA_INSECURE is {'1' if settings.kafka_insecure else 'unset'}; "
                "`ketenlog down` and `ketenlog up` restart it as the setting says"
            )
        return pid
    java = java_command()
    check_ports(settings)
    fetch(settings, say)
    for folder in (p.run, p.data, p.tmp):
        folder.mkdir(parents=True, exist_ok=True)
    if settings.kafka_insecure:
        # infra.services.prepare_kafka warns about it, on every `up`.
        secrets_, scram = None, dict[str, str]()
    else:
        secrets_, scram = _secrets(settings, say)
    _write_properties(settings, secrets_)
    _format_storage(java, p, say, scram)
    if secrets_ is not None and not p.scram_marker.exists():
        _add_scram_to_plaintext_storage(java, settings, say, scram)
        _write_properties(settings, secrets_)
    mode = "plaintext" if secrets_ is None else "SASL_SSL"
    say(f"kafka: starting Kafka {settings.kafka_version} on {HOST}:{settings.kafka_port} ({mode})")
    child = _launch(java, settings)
    if wait:
        wait_ready(settings, say, child.pid)
    return child.pid


def wait_ready(settings: ServiceConfig, say: Say, pid: int) -> None:
    """Wait until the broker port accepts TCP (it opens only once the broker can serve)."""
    p = paths(settings)
    started = time.monotonic()
    deadline = started + settings.start_timeout_s
    while not procs.port_open(HOST, settings.kafka_port, timeout_s=0.5):
        if not _alive(pid):
            p.pid_file.unlink(missing_ok=True)
            log_tail = procs.tail(p.log_file)
            reason = death_reason(log_tail)
            raise InfraError(
                f"the Kafka broker exited during start{reason}; its log ({p.log_file}) ends "
                f"with:\n{log_tail}"
            )
        if time.monotonic() >= deadline:
            stop(settings, lambda _line: None)
            raise InfraError(
                f"the Kafka broker did not open {HOST}:{settings.kafka_port} within "
                f"{settings.start_timeout_s:.0f}s and was stopped; see its log {p.log_file} "
                "(KETENLOG_START_TIMEOUT sets the wait)"
            )
        time.sleep(0.25)
    say(f"kafka: ready on {HOST}:{settings.kafka_port} after {time.monotonic() - started:.0f}s")


def stop(settings: ServiceConfig, say: Say, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop this instance's broker (SIGTERM, SIGKILL after timeout_s); False when none ran."""
    p = paths(settings)
    pids = {pid for pid in (running_pid(settings), *_scan(p)) if pid is not None}
    if not pids:
        p.pid_file.unlink(missing_ok=True)
        say("kafka: not running")
        return False
    for pid in sorted(pids):
        say(f"kafka: stopping (pid {pid})")
        graceful = procs.terminate(pid, timeout_s, group=True)
        child = _children.pop(pid, None)
        if child is not None:
            child.wait(timeout=10)
        if not graceful:
            say(f"kafka: no clean exit within {timeout_s:.0f}s, killed")
    p.pid_file.unlink(missing_ok=True)
    say("kafka: stopped")
    return True


def status(settings: ServiceConfig) -> BrokerStatus:
    pid = running_pid(settings)
    listening = pid is not None and procs.port_open(HOST, settings.kafka_port)
    return BrokerStatus(pid=pid, listening=listening, log_file=paths(settings).log_file)


def reachable(bootstrap: str) -> bool:
    """True when any server of a bootstrap list ('h1:p1,h2:p2') accepts TCP."""
    for server in bootstrap.split(","):
        if not server.strip():
            continue
        host, port = procs.split_host_port(server, 9092)
        if procs.port_open(host, port, timeout_s=3.0):
            return True
    return False
