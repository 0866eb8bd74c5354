"""Who may do what on the log: the principals, the client settings a principal connects with,
and the access rules (Kafka ACLs) that follow from the topic catalogue.

Part of the contract like the topics: `ketenlog credentials ORG` hands an organisation exactly
these client settings (as JSON), `ketenlog up` makes the broker's ACLs equal `grants()`, and
`ketenlog status` compares the two. Every client of the project (publisher, processor,
readers, tests) takes its connection from one `KafkaAccess`, so a secured cluster needs no
other change. Pure: no I/O beyond building an SSL context from a CA file.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import asdict, dataclass, field
from typing import Any

from schemas.topics import DEADLETTER, TIMELINE, Org, catalogue, event_topic, inbox_topic

PROCESSOR = "processor"
DISTRIBUTION = "distribution"
AUDITOR = "auditor"
ADMIN = "admin"
# The broker's own principals (inter-broker and broker-to-controller); super users, never
# handed to a client.
BROKER = "broker"
CONTROLLER = "controller"
ROLES = (PROCESSOR, DISTRIBUTION, AUDITOR, ADMIN)
SUPER_USERS = (ADMIN, BROKER, CONTROLLER)
SCRAM = "SCRAM-SHA-512"
CLUSTER = "kafka-cluster"


def org_principal(org: Org | str) -> str:
    """The principal (SCRAM user name) of an organisation: its code in lower case."""
    return Org(org.upper() if isinstance(org, str) else org).value.lower()


def principals() -> list[str]:
    """Every client principal: one per organisation of the catalogue, then the roles."""
    return [org_principal(org) for org in Org] + list(ROLES)


def principal_of(name: str) -> str:
    """A principal from what a person types (`IND`, `ind`, `processor`), or ValueError."""
    lowered = name.strip().lower()
    if lowered in principals():
        return lowered
    raise ValueError(
        f"unknown principal {name!r}: one of the organisations "
        f"({', '.join(o.value for o in Org)}) or {', '.join(ROLES)}"
    )


@dataclass(frozen=True)
class KafkaAccess:
    """How one principal connects: what `ketenlog credentials` prints. The password is never
    part of repr or str (the str is the bootstrap list, for messages)."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None

    def __str__(self) -> str:
        return self.bootstrap

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    @property
    def secured(self) -> bool:
        return self.security_protocol != "PLAINTEXT"

    def with_bootstrap(self, bootstrap: str) -> KafkaAccess:
        return KafkaAccess(
            bootstrap,
            self.security_protocol,
            self.sasl_mechanism,
            self.username,
            self.password,
            self.ssl_cafile,
        )

    def _login(self) -> dict[str, Any]:
        """The servers, protocol and SASL login, named alike by kafka-python and aiokafka."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return kwargs

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer/KafkaConsumer/KafkaAdminClient."""
        kwargs = self._login()
        if "SSL" in self.security_protocol:
            kwargs |= {"ssl_cafile": self.ssl_cafile, "ssl_check_hostname": True}
        return kwargs

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying SSL context on the CA file (aiokafka, faust), or None without TLS."""
        if "SSL" not in self.security_protocol:
            return None
        return ssl.create_default_context(cafile=self.ssl_cafile)

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's AIOKafkaProducer/AIOKafkaConsumer."""
        kwargs = self._login()
        context = self.ssl_context()
        if context is not None:
            kwargs["ssl_context"] = context
        return kwargs

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "client settings") -> KafkaAccess:
        try:
            raw = json.loads(text)
            return cls(
                bootstrap=str(raw["bootstrap"]),
                security_protocol=str(raw.get("security_protocol") or "PLAINTEXT"),
                sasl_mechanism=raw.get("sasl_mechanism"),
                username=raw.get("username"),
                password=raw.get("password"),
                ssl_cafile=raw.get("ssl_cafile"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{source}: not the JSON object `ketenlog credentials` prints "
                f"(bootstrap, security_protocol, sasl_mechanism, username, password, "
                f"ssl_cafile): {exc}"
            ) from None


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL, in Kafka's names: resource TOPIC/GROUP/CLUSTER, pattern LITERAL/PREFIXED,
    operation READ/WRITE/IDEMPOTENT_WRITE/..., from any host."""

    principal: str
    resource: str
    name: str
    pattern: str
    operation: str


def inbox_group(org: Org | str) -> str:
    """The prefix of the consumer groups an organisation may read its inbox with."""
    return f"{org_principal(org)}-inbox"


def grants() -> list[Grant]:
    """The ACLs the catalogue implies; everything else is denied (admin is a super user).

    - an organisation writes only its own topic (plus idempotent writes), and reads it back
      to continue its hash chain;
    - the processor reads every agency topic and writes the timeline and the dead letters;
      its consumer groups are named by whoever runs it (`process --group`), so it may use
      any group: a group holds positions, never records;
    - distribution (the agencies' read side) reads the timeline, with groups of its own, and
      writes every organisation's inbox; an organisation reads its own inbox alone, with
      consumer groups named `<principal>-inbox...`;
    - the auditor reads every topic, without a group.
    """
    found: list[Grant] = []
    for org in Org:
        who = org_principal(org)
        topic = event_topic(org)
        found += [
            Grant(who, "TOPIC", topic, "LITERAL", "WRITE"),
            Grant(who, "TOPIC", topic, "LITERAL", "READ"),
            Grant(who, "CLUSTER", CLUSTER, "LITERAL", "IDEMPOTENT_WRITE"),
            Grant(who, "TOPIC", inbox_topic(org), "LITERAL", "READ"),
            Grant(who, "GROUP", inbox_group(org), "PREFIXED", "READ"),
        ]
    found += [Grant(PROCESSOR, "TOPIC", event_topic(org), "LITERAL", "READ") for org in Org]
    found += [
        Grant(PROCESSOR, "TOPIC", TIMELINE, "LITERAL", "WRITE"),
        Grant(PROCESSOR, "TOPIC", DEADLETTER, "LITERAL", "WRITE"),
        Grant(PROCESSOR, "GROUP", "*", "LITERAL", "READ"),
        Grant(PROCESSOR, "CLUSTER", CLUSTER, "LITERAL", "IDEMPOTENT_WRITE"),
        Grant(DISTRIBUTION, "TOPIC", TIMELINE, "LITERAL", "READ"),
        Grant(DISTRIBUTION, "GROUP", "ketenlog-distribution", "PREFIXED", "READ"),
        Grant(DISTRIBUTION, "CLUSTER", CLUSTER, "LITERAL", "IDEMPOTENT_WRITE"),
    ]
    found += [Grant(DISTRIBUTION, "TOPIC", inbox_topic(org), "LITERAL", "WRITE") for org in Org]
    found += [Grant(AUDITOR, "TOPIC", spec.name, "LITERAL", "READ") for spec in catalogue()]
    return sorted(found)
