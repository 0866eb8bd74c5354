"""The organisations' signing keys and the public-key registry the auditor trusts (the pure
signing is schemas/signature.py). One directory, `KETENLOG_SIGNING_KEYS` (default
`<KETENLOG_HOME>/keys/signing`):

    <ORG>/<key id>.pem   the organisation's private Ed25519 keys (PKCS#8), owner-only (0600)
    <ORG>/current        the key id it signs with now
    registry.json        every public key ever used: organisation, key id, key, created,
                         retired (a rotated key stays, so what it signed still verifies)

On this machine the project holds every organisation's key, as it holds their chain key: a
deployment gives each organisation its own directory and the processor and the auditor only
the registry. Rotation (`ketenlog keys rotate ORG`) makes a new key current and marks the old
one retired.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from schemas.signature import PublicKey, Record, Signer, Verifier, header_of, key_id

REGISTRY = "registry.json"
CURRENT = "current"
# How often a running gate may re-read the registry when it meets a key id it does not know.
RELOAD_AFTER_S = 2.0


class KeyStoreError(Exception):
    pass


@dataclass(frozen=True)
class KeyInfo:
    org: str
    key_id: str
    created_at: str
    retired_at: str | None


class KeyStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def registry_path(self) -> Path:
        return self.root / REGISTRY

    def signer(self, org: str) -> tuple[Signer, bool]:
        """The organisation's current signer, and whether it was created just now (its first
        publication on this installation)."""
        found = self._current(org)
        if found is not None:
            return found, False
        with self._locked():
            # Another process may have made it while this one waited for the lock.
            found = self._current(org)
            return (found, False) if found is not None else (self._new_key(org), True)

    def rotate(self, org: str) -> Signer:
        """A new current key for `org`; the old one is retired in the registry (not removed)."""
        with self._locked():
            return self._new_key(org)

    def _current(self, org: str) -> Signer | None:
        current = self.root / org / CURRENT
        if not current.exists():
            return None
        kid = current.read_text().strip()
        pem = (self.root / org / f"{kid}.pem").read_bytes()
        private = load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyStoreError(f"{org}'s key {kid} is not an Ed25519 key")
        return Signer(org, private)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer of the registry at a time, across processes."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def public_keys(self) -> list[KeyInfo]:
        return [
            KeyInfo(k["org"], k["key_id"], k["created_at"], k.get("retired_at"))
            for k in self._read_registry()["keys"]
        ]

    def verifier(self) -> Verifier:
        return verifier_from(self._read_registry())

    def registry(self) -> dict[str, Any]:
        """The registry document (what an export carries)."""
        return self._read_registry()

    def _new_key(self, org: str) -> Signer:
        private = Ed25519PrivateKey.generate()
        signer = Signer(org, private)
        folder = self.root / org
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        _write_private(folder / f"{signer.key_id}.pem", pem)
        registry = self._read_registry()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for entry in registry["keys"]:
            if entry["org"] == org and entry.get("retired_at") is None:
                entry["retired_at"] = now
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        registry["keys"].append(
            {
                "org": org,
                "key_id": signer.key_id,
                "public_key": base64.b64encode(raw).decode(),
                "created_at": now,
                "retired_at": None,
            }
        )
        _replace(self.registry_path, json.dumps(registry, indent=1).encode(), 0o644)
        _replace(folder / CURRENT, signer.key_id.encode(), 0o600)
        return signer

    def _read_registry(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.registry_path.read_text())
        except FileNotFoundError:
            return {"about": "ketenlog's public signing keys (infra/signing_keys.py)", "keys": []}
        except ValueError as exc:
            raise KeyStoreError(f"{self.registry_path} is not valid JSON: {exc}") from exc
        return data


def verifier_from(registry: dict[str, Any]) -> Verifier:
    """A verifier of every key in a registry document (the key store's, or an archive's)."""
    return Verifier(public_keys(registry))


def public_keys(registry: dict[str, Any]) -> list[PublicKey]:
    keys = []
    for entry in registry.get("keys", []):
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"]))
        if key_id(public) != entry["key_id"]:
            raise KeyStoreError(f"registry entry {entry['key_id']} does not match its key")
        keys.append(PublicKey(entry["org"], entry["key_id"], public))
    return keys


class ReloadingVerifier(Verifier):
    """The gate's verifier: re-reads the registry when it meets a key it does not know (an
    organisation rotated its key while the processor runs), at most every RELOAD_AFTER_S."""

    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._loaded_at = time.monotonic()
        super().__init__(public_keys(store.registry()))

    def problem(self, org: str, record: Record) -> str | None:
        header = header_of(record.headers)
        if header is not None and not self.knows(header):
            now = time.monotonic()
            if now - self._loaded_at >= RELOAD_AFTER_S or not len(self):
                self.load(public_keys(self._store.registry()))
                self._loaded_at = now
        return super().problem(org, record)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
