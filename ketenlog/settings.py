"""Configuration, read once at start into a frozen object and passed down (the composition root).

Every setting is an environment variable `KETENLOG_*`; nothing else reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from infra import pg_roles
from schemas.access import KafkaAccess

# The database roles a connection can be for (infra.pg_roles): the owner that migrates and
# writes, the analyst that reads only the `analyst` views, the auditor that reads everything.
DbRole = Literal["owner", "analyst", "auditor"]
_LOCAL_ROLES: dict[DbRole, str] = {
    "owner": pg_roles.OWNER,
    "analyst": pg_roles.ANALYST,
    "auditor": pg_roles.AUDITOR,
}

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The timeline processor's consumer group, where `--group` names no other.
DEFAULT_GROUP = "ketenlog-process"


@dataclass(frozen=True)
class Settings:
    """Everything configurable. `kafka_bootstrap` / `database_url` set means: use that service."""

    home: Path
    kafka_bootstrap: str | None
    database_url: str | None
    partitions: int
    kafka_port: int
    kafka_controller_port: int
    kafka_version: str
    postgres_port: int
    oin_prefix: str
    chain_key: str | None
    chain_key_file: Path | None
    start_timeout_s: float
    publish_timeout_s: float
    # Disclosure control on everything analysts get (projections.disclosure, the cell key
    # method): noise of at most `disclosure_noise`, then counts below `disclosure_min`
    # suppressed and the rest rounded to a multiple of `disclosure_round` (as CBS and the IND
    # publish); statistics (percentiles) over at least `disclosure_statistic_min` items.
    disclosure_min: int = 5
    disclosure_round: int = 5
    disclosure_noise: int = 2
    disclosure_statistic_min: int = 10
    # The server's secret disclosure key; default keys/disclosure.key under home.
    disclosure_key_file_setting: Path | None = None
    # Origins a browser may call the API from (CORS); none by default.
    cors_origins: frozenset[str] = frozenset()
    # The API's token store (projections.api_tokens); default KETENLOG_HOME/api/tokens.json.
    api_tokens_setting: Path | None = None
    # The API's aggregates without a token (KETENLOG_API_OPEN_FIGURES=1); else an analyst's.
    api_open_figures: bool = False
    # KETENLOG_AUDITOR_TOKEN is set: no longer read (`serve` says so and what to do instead).
    legacy_auditor_token: bool = False
    # Plaintext Kafka without authentication or ACLs (KETENLOG_KAFKA_INSECURE=1); else SASL_SSL.
    kafka_insecure: bool = False
    # Each principal's client settings (<principal>.json, as `ketenlog credentials` prints).
    kafka_credentials_dir_setting: Path | None = None
    # The organisations' signing keys and the public-key registry (infra/signing_keys.py).
    signing_keys: Path | None = None
    # POST /v1/gebeurtenissen per organisation: requests a minute on average, and the burst.
    ingest_per_minute: int = 600
    ingest_burst: int = 20
    # With KETENLOG_DATABASE_URL: the analyst's and the auditor's connections to that server.
    analyst_database_url: str | None = None
    auditor_database_url: str | None = None
    # The person key store (infra/person_keys.py): each person's data key for sealing.
    person_keys: Path | None = None

    @property
    def disclosure_key_file(self) -> Path:
        return self.disclosure_key_file_setting or self.home / "keys" / "disclosure.key"

    @property
    def signing_dir(self) -> Path:
        return self.signing_keys or self.home / "keys" / "signing"

    @property
    def api_tokens(self) -> Path:
        return self.api_tokens_setting or self.home / "api" / "tokens.json"

    @property
    def person_keys_file(self) -> Path:
        return self.person_keys or self.home / "keys" / "persons" / "keys.sqlite"

    @property
    def starts_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def starts_postgres(self) -> bool:
        return self.database_url is None

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def kafka_credentials_dir(self) -> Path:
        return self.kafka_credentials_dir_setting or self.home / "kafka" / "credentials"

    def kafka(self, principal: str) -> KafkaAccess:
        """The client settings of one principal: the one place every Kafka client of the project
        takes its connection from. Plaintext with KETENLOG_KAFKA_INSECURE=1; otherwise the
        principal's stored settings (made by `ketenlog up` for the local broker, or put in
        KETENLOG_KAFKA_CREDENTIALS_DIR for an existing cluster), on this bootstrap."""
        if self.kafka_insecure:
            return KafkaAccess(self.bootstrap)
        path = self.kafka_credentials_dir / f"{principal}.json"
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise SystemExit(
                f"no Kafka credentials for {principal!r} in {path.parent}: `ketenlog up` makes "
                "them for the local broker; for an existing cluster put the client settings "
                f"there as {path.name} (the JSON `ketenlog credentials` prints), or set "
                "KETENLOG_KAFKA_INSECURE=1 for a plaintext Kafka"
            ) from None
        try:
            return KafkaAccess.from_json(text, str(path)).with_bootstrap(self.bootstrap)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None

    @property
    def postgres_passfile(self) -> Path:
        """The local cluster's passwords (a libpq passfile, owner-only; infra.pg_passfile)."""
        return self.home / "postgres.pgpass"

    def dsn_for(self, role: DbRole) -> str:
        """The DSN of database role `role`: the one place every connection takes it from. The
        local cluster's DSNs name the passfile, never a password; with KETENLOG_DATABASE_URL the
        URLs given for each role (the analyst's and auditor's fall back to the owner's)."""
        if self.database_url is not None:
            given = {"analyst": self.analyst_database_url, "auditor": self.auditor_database_url}
            return given.get(role) or self.database_url
        passfile = quote(str(self.postgres_passfile), safe="")
        return (
            f"postgresql://{_LOCAL_ROLES[role]}@127.0.0.1:{self.postgres_port}/"
            f"{pg_roles.DATABASE}?passfile={passfile}"
        )

    @property
    def dsn(self) -> str:
        """The owner's DSN (migrations, the processor, replay, the CLI)."""
        return self.dsn_for("owner")

    @property
    def analyst_role_enforced(self) -> bool:
        """False when an external server has no analyst URL: the analyst's reads then go
        through the owner's connection, and PostgreSQL does not hold them to the views."""
        return self.database_url is None or self.analyst_database_url is not None


def _int(env: Mapping[str, str], name: str, default: int, *, least: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"setting {name}={raw!r} is not a whole number") from None
    if value < least:
        raise SystemExit(
            f"setting {name}={raw!r} must be positive"
            if least == 1
            else f"setting {name}={raw!r} must be at least {least}"
        )
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise SystemExit(f"setting {name}={raw!r} is not 1 or 0")


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from the environment (or a given mapping, for tests)."""
    env = os.environ if env is None else env
    home = Path(env.get("KETENLOG_HOME") or PROJECT_ROOT / ".ketenlog").resolve()
    key_file = env.get("KETENLOG_CHAIN_KEY_FILE")
    creds = env.get("KETENLOG_KAFKA_CREDENTIALS_DIR")
    return Settings(
        home=home,
        kafka_bootstrap=env.get("KETENLOG_KAFKA_BOOTSTRAP") or None,
        database_url=env.get("KETENLOG_DATABASE_URL") or None,
        partitions=_int(env, "KETENLOG_PARTITIONS", 6),
        kafka_port=_int(env, "KETENLOG_KAFKA_PORT", 19092),
        kafka_controller_port=_int(env, "KETENLOG_KAFKA_CONTROLLER_PORT", 19093),
        kafka_version=env.get("KETENLOG_KAFKA_VERSION") or "4.1.1",
        postgres_port=_int(env, "KETENLOG_POSTGRES_PORT", 15432),
        # Placeholder OIN prefix until the real OINs of the organisations are configured.
        oin_prefix=env.get("KETENLOG_OIN_PREFIX") or "urn:nld:oin:00000000000000000000",
        chain_key=env.get("KETENLOG_CHAIN_KEY") or None,
        chain_key_file=Path(key_file) if key_file else None,
        start_timeout_s=float(_int(env, "KETENLOG_START_TIMEOUT", 180)),
        publish_timeout_s=float(_int(env, "KETENLOG_PUBLISH_TIMEOUT", 30)),
        disclosure_min=_int(env, "KETENLOG_DISCLOSURE_MIN", 5),
        disclosure_round=_int(env, "KETENLOG_DISCLOSURE_ROUND", 5),
        disclosure_noise=_int(env, "KETENLOG_DISCLOSURE_NOISE", 2, least=0),
        disclosure_statistic_min=_int(env, "KETENLOG_DISCLOSURE_STATISTIC_MIN", 10),
        disclosure_key_file_setting=(
            Path(v).resolve() if (v := env.get("KETENLOG_DISCLOSURE_KEY_FILE")) else None
        ),
        cors_origins=frozenset(
            o.strip() for o in (env.get("KETENLOG_CORS_ORIGINS") or "").split(",") if o.strip()
        ),
        api_tokens_setting=Path(v).resolve() if (v := env.get("KETENLOG_API_TOKENS")) else None,
        api_open_figures=_flag(env, "KETENLOG_API_OPEN_FIGURES"),
        legacy_auditor_token=bool(env.get("KETENLOG_AUDITOR_TOKEN")),
        kafka_insecure=_flag(env, "KETENLOG_KAFKA_INSECURE"),
        kafka_credentials_dir_setting=Path(creds).resolve() if creds else None,
        signing_keys=Path(v).resolve() if (v := env.get("KETENLOG_SIGNING_KEYS")) else None,
        analyst_database_url=env.get("KETENLOG_ANALYST_DATABASE_URL") or None,
        auditor_database_url=env.get("KETENLOG_AUDITOR_DATABASE_URL") or None,
        person_keys=Path(v).resolve() if (v := env.get("KETENLOG_PERSON_KEYS")) else None,
        ingest_per_minute=_int(env, "KETENLOG_INGEST_PER_MINUTE", 600),
        ingest_burst=_int(env, "KETENLOG_INGEST_BURST", 20),
    )
