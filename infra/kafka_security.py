"""The broker's principals and ACLs, kept in step with schemas.access: SCRAM credentials
through kafka-python's admin client (AlterUserScramCredentials), ACLs through its
Create/Describe/DeleteAcls, and each principal's client settings stored owner-only.

Sits under infra.services (`up`, `status`) and the `credentials` command. Works the same on the
local broker and on an existing secured cluster, as long as the admin's client settings are in
the credentials folder (KETENLOG_KAFKA_CREDENTIALS_DIR).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from infra.config import ServiceConfig
from infra.errors import InfraError
from infra.kafka_tls import write_private
from schemas.access import ADMIN, SCRAM, Grant, KafkaAccess, grants, principals

Say = Callable[[str], None]


def new_password() -> str:
    return secrets.token_urlsafe(32)


def credentials_file(folder: Path, principal: str) -> Path:
    return folder / f"{principal}.json"


def store(folder: Path, access: KafkaAccess) -> Path:
    """Keep a principal's client settings, owner-only, in an owner-only folder."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    if access.username is None:
        raise InfraError("client settings without a user name cannot be stored")
    path = credentials_file(folder, access.username)
    write_private(path, access.to_json().encode())
    return path


def load(folder: Path, principal: str) -> KafkaAccess | None:
    path = credentials_file(folder, principal)
    try:
        return KafkaAccess.from_json(path.read_text(), str(path))
    except FileNotFoundError:
        return None


def secured_access(
    bootstrap: str, principal: str, password: str, cafile: str | None
) -> KafkaAccess:
    return KafkaAccess(
        bootstrap=bootstrap,
        security_protocol="SASL_SSL",
        sasl_mechanism=SCRAM,
        username=principal,
        password=password,
        ssl_cafile=cafile,
    )


def admin_client(access: KafkaAccess, client_id: str = "ketenlog-infra") -> Any:
    try:
        return KafkaAdminClient(
            client_id=client_id,
            request_timeout_ms=30_000,
            bootstrap_timeout_ms=15_000,
            **access.kafka_python(),
        )
    except KafkaError as exc:
        raise InfraError(
            f"cannot reach Kafka at {access} as {access.username or 'an anonymous client'} "
            f"({exc!r}); start it with `ketenlog up` or check the KETENLOG_KAFKA_* settings"
        ) from exc


def upsert_users(client: Any, users: dict[str, str]) -> None:
    """Create or replace the SCRAM-SHA-512 credential of each user (name -> password)."""
    if not users:
        return
    result = client.alter_user_scram_credentials(
        [
            UserScramCredentialUpsertion(name, ScramMechanism.SCRAM_SHA_512, password)
            for name, password in users.items()
        ]
    )
    failed = {name: error for name, error in result.items() if error}
    if failed:
        raise InfraError(f"setting SCRAM credentials failed: {failed}")


def scram_users(client: Any) -> set[str]:
    return set(client.describe_user_scram_credentials())


def _acl(grant: Grant) -> Any:
    return ACL(
        principal=f"User:{grant.principal}",
        host="*",
        operation=ACLOperation[grant.operation],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            ResourceType[grant.resource], grant.name, ACLResourcePatternType[grant.pattern]
        ),
    )


@dataclass(frozen=True)
class AclState:
    """The broker's ACLs against the catalogue's: what is there, missing, and extra."""

    found: list[Grant]
    missing: list[Grant]
    extra: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra


@dataclass(frozen=True)
class MatrixRow:
    """One principal on one resource: the operations the catalogue grants it, and which of
    them the broker lacks."""

    principal: str
    resource: str
    operations: tuple[str, ...]
    missing: tuple[str, ...]


def matrix(state: AclState) -> list[MatrixRow]:
    """The ACL matrix (principal x resource x operation) of the catalogue, marked with what
    the broker lacks; in the catalogue's order of principals."""
    cells: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for grant in sorted([*state.found, *state.missing]):
        pattern = "" if grant.pattern == "LITERAL" else f" ({grant.pattern.lower()})"
        where = f"{grant.resource.lower()} {grant.name}{pattern}"
        ops, lacking = cells.setdefault((grant.principal, where), ([], []))
        ops.append(grant.operation)
        if grant in state.missing:
            lacking.append(grant.operation)
    order = {p: i for i, p in enumerate(principals())}
    return [
        MatrixRow(principal, where, tuple(ops), tuple(lacking))
        for (principal, where), (ops, lacking) in sorted(
            cells.items(), key=lambda item: (order.get(item[0][0], len(order)), item[0][1])
        )
    ]


def _all_acls(client: Any) -> list[Any]:
    acls, _error = client.describe_acls(
        ACLFilter(
            principal=None,
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(
                ResourceType.ANY, None, ACLResourcePatternType.ANY
            ),
        )
    )
    return list(acls)


def _as_grant(acl: Any) -> Grant | None:
    """An ALLOW-from-anywhere ACL of a User principal as a Grant; None for anything else."""
    if (
        acl.permission_type != ACLPermissionType.ALLOW
        or acl.host != "*"
        or not acl.principal.startswith("User:")
    ):
        return None
    pattern = acl.resource_pattern
    return Grant(
        acl.principal.removeprefix("User:"),
        ResourceType(pattern.resource_type).name,
        pattern.resource_name,
        ACLResourcePatternType(pattern.pattern_type).name,
        ACLOperation(acl.operation).name,
    )


def _describe(acl: Any) -> str:
    pattern = acl.resource_pattern
    return (
        f"{ACLPermissionType(acl.permission_type).name} {acl.principal} from {acl.host}: "
        f"{ACLOperation(acl.operation).name} on {ResourceType(pattern.resource_type).name} "
        f"{pattern.resource_name} ({ACLResourcePatternType(pattern.pattern_type).name})"
    )


def acl_state(client: Any, wanted: Iterable[Grant] | None = None) -> AclState:
    want = set(grants() if wanted is None else wanted)
    found: list[Grant] = []
    extra: list[str] = []
    for acl in _all_acls(client):
        grant = _as_grant(acl)
        if grant is not None and grant in want:
            found.append(grant)
        else:
            extra.append(_describe(acl))
    missing = sorted(want - set(found))
    return AclState(sorted(found), missing, sorted(extra))


def _extra_acls(client: Any, want: set[Grant]) -> list[Any]:
    return [acl for acl in _all_acls(client) if _as_grant(acl) not in want]


def ensure_acls(client: Any, say: Say) -> None:
    """Make the broker's ACLs exactly the catalogue's: create what is missing, delete the rest
    (an ACL nobody in the catalogue asked for is drift, whoever made it)."""
    want = set(grants())
    state = acl_state(client, want)
    if state.missing:
        result = client.create_acls([_acl(g) for g in state.missing])
        if result["failed"]:
            raise InfraError(f"creating ACLs failed: {result['failed'][:3]}")
        say(f"kafka: created {len(state.missing)} ACLs")
    extra = _extra_acls(client, want)
    if extra:
        filters = [
            ACLFilter(
                principal=acl.principal,
                host=acl.host,
                operation=acl.operation,
                permission_type=acl.permission_type,
                resource_pattern=ResourcePatternFilter(
                    acl.resource_pattern.resource_type,
                    acl.resource_pattern.resource_name,
                    acl.resource_pattern.pattern_type,
                ),
            )
            for acl in extra
        ]
        client.delete_acls(filters)
        for acl in extra:
            say(f"kafka: removed an ACL the catalogue does not grant: {_describe(acl)}")
    if not state.missing and not extra:
        say(f"kafka: {len(want)} ACLs as the catalogue says")


def ensure_principals(settings: ServiceConfig, client: Any, cafile: str | None, say: Say) -> None:
    """Every catalogue principal has a SCRAM credential and stored client settings."""
    folder = settings.kafka_credentials_dir
    on_broker = scram_users(client)
    todo: dict[str, str] = {}
    for principal in principals():
        stored = load(folder, principal)
        if stored is not None and stored.password and principal in on_broker:
            continue
        password = stored.password if stored is not None and stored.password else new_password()
        todo[principal] = password
    upsert_users(client, todo)
    for principal, password in todo.items():
        store(folder, secured_access(settings.bootstrap, principal, password, cafile))
    if todo:
        say(f"kafka: SCRAM credentials for {len(todo)} principals, kept in {folder} (owner-only)")


def rotate(settings: ServiceConfig, principal: str) -> KafkaAccess:
    """A new password for one principal, set on the broker and stored; its settings returned."""
    admin = settings.kafka(ADMIN)
    password = new_password()
    client = admin_client(admin)
    try:
        upsert_users(client, {principal: password})
    except KafkaError as exc:
        raise InfraError(f"setting the credential of {principal} failed: {exc!r}") from exc
    finally:
        client.close()
    access = secured_access(settings.bootstrap, principal, password, admin.ssl_cafile)
    store(settings.kafka_credentials_dir, access)
    return access


def ensure(settings: ServiceConfig, say: Say) -> None:
    """Principals and ACLs as the catalogue says (`ketenlog up`); nothing on a plaintext Kafka."""
    if settings.kafka_insecure:
        return
    admin = settings.kafka(ADMIN)
    client = admin_client(admin)
    try:
        ensure_principals(settings, client, admin.ssl_cafile, say)
        ensure_acls(client, say)
    except KafkaError as exc:
        raise InfraError(
            f"keeping the principals and ACLs of Kafka at {admin} in step failed: {exc!r}"
        ) from exc
    finally:
        client.close()


def state(settings: ServiceConfig) -> AclState:
    """The ACL comparison for `ketenlog status` (as admin)."""
    client = admin_client(settings.kafka(ADMIN))
    try:
        return acl_state(client)
    except KafkaError as exc:
        raise InfraError(
            f"describing the ACLs of Kafka at {settings.bootstrap} failed: {exc!r}"
        ) from exc
    finally:
        client.close()
