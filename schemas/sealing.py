"""Personal fields sealed per person (issue 14, docs/security.md "Personal data and erasure"):
the publisher seals every field an .avsc marks `"personal": true` with the person's own data
key (AES-256-GCM), the timeline gate opens them again. Destroying a person's key
(`ketenlog erase`) leaves only ciphertext of them on the log: every reader then sees None
(UNKNOWN) for those fields, never an error. Pure: the keys come in through `KeyLookup`.

A sealed value is `01 || key id (16) || nonce (12) || AES-GCM(JSON of the value)`, with the
associated data binding it to the event id, the field name and the key id, so a ciphertext
cannot be moved to another event or field.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.canonical import PRIMITIVES, full_name
from schemas.errors import Problem
from schemas.registry import SchemaVersion

SEALED = "sealed"
"""The map field of a sealing schema version: field name -> sealed value."""
FORMAT = 1
KEY_ID_SIZE = 16
NONCE_SIZE = 12
KEY_SIZE = 32

KeyLookup = Callable[[str, bytes], bytes | None]
"""(person key, key id) -> the data key, or None when it was destroyed (or never existed)."""


class OpeningKeys(Protocol):
    """What the processor holds of the person key store (infra/person_keys.py)."""

    def key(self, person_key: str, key_id: bytes) -> bytes | None: ...

    def forget(self, person_key: str) -> None: ...


class SealError(ValueError):
    """A sealed value that does not open with the key it names: tampered, moved or malformed."""


# By the version object (kept alive by the entry, so its id is not reused), as validation does.
_PERSONAL: dict[int, tuple[SchemaVersion, tuple[str, ...], bool]] = {}


def _personal(sv: SchemaVersion) -> tuple[SchemaVersion, tuple[str, ...], bool]:
    cached = _PERSONAL.get(id(sv))
    if cached is None or cached[0] is not sv:
        fields = tuple(f["name"] for f in sv.schema["fields"] if f.get("personal") is True)
        has_map = any(f["name"] == SEALED for f in sv.schema["fields"])
        cached = _PERSONAL[id(sv)] = (sv, fields, has_map and bool(fields))
    return cached


def personal_fields(sv: SchemaVersion) -> tuple[str, ...]:
    """The top-level payload fields `sv` marks personal, in schema order."""
    return _personal(sv)[1]


def seals(sv: SchemaVersion) -> bool:
    """Whether records of this version carry their personal fields sealed."""
    return _personal(sv)[2]


@functools.lru_cache(maxsize=65_536)
def _aead(key: bytes) -> AESGCM:
    # Keyed once per person, not per field: the key schedule is most of a small value's cost.
    return AESGCM(key)


def new_key() -> tuple[bytes, bytes]:
    """A fresh (key id, data key): random, derivable from nothing, so it can be destroyed."""
    return os.urandom(KEY_ID_SIZE), AESGCM.generate_key(bit_length=8 * KEY_SIZE)


def associated_data(event_id: str, field: str, key_id: bytes) -> bytes:
    return b"ketenlog-seal-1\0" + event_id.encode() + b"\0" + field.encode() + b"\0" + key_id


def seal_value(key_id: bytes, key: bytes, event_id: str, field: str, value: Any) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    plain = json.dumps(value, separators=(",", ":")).encode()
    sealed = _aead(key).encrypt(nonce, plain, associated_data(event_id, field, key_id))
    return bytes([FORMAT]) + key_id + nonce + sealed


def key_id_of(blob: bytes) -> bytes:
    if len(blob) < 1 + KEY_ID_SIZE + NONCE_SIZE + 16 or blob[0] != FORMAT:
        raise SealError("not a sealed value (format 1, key id, nonce, ciphertext)")
    return blob[1 : 1 + KEY_ID_SIZE]


def open_value(key: bytes, blob: bytes, event_id: str, field: str) -> Any:
    """The value `seal_value` sealed; SealError when it does not open for this event and field."""
    key_id = key_id_of(blob)
    nonce = blob[1 + KEY_ID_SIZE : 1 + KEY_ID_SIZE + NONCE_SIZE]
    try:
        plain = _aead(key).decrypt(
            nonce, blob[1 + KEY_ID_SIZE + NONCE_SIZE :], associated_data(event_id, field, key_id)
        )
    except InvalidTag:
        raise SealError(f"{field}: does not open for this event and field") from None
    return json.loads(plain)


def seal_record(
    sv: SchemaVersion, record: Mapping[str, Any], key_id: bytes, key: bytes
) -> dict[str, Any]:
    """A copy of a checked clear `record` with every personal field sealed and its clear field
    set to a neutral placeholder (null, "", 0, false or the enum's first symbol)."""
    event_id = str(record["envelope"]["event_id"])
    out = dict(record)
    sealed: dict[str, bytes] = {}
    for fld in sv.schema["fields"]:
        if fld.get("personal") is True:
            name = fld["name"]
            sealed[name] = seal_value(key_id, key, event_id, name, record.get(name))
            out[name] = _placeholder(sv, fld["type"])
    out[SEALED] = sealed
    return out


def open_record(
    writer: SchemaVersion, reader: SchemaVersion, record: dict[str, Any], keys: KeyLookup | None
) -> list[Problem]:
    """Open the sealed fields of a decoded `record` in place (read as `reader`): each personal
    field gets its clear value, or None when its key is gone (erased; `keys` None: no key at
    all); the `sealed` map is dropped. Records of versions before sealing keep their clear
    values. Returns the problems of a record its publisher sealed wrongly."""
    sealed = record.pop(SEALED, None) or {}
    if not seals(writer):
        return []
    person = str(record["envelope"]["person_key"])
    event_id = str(record["envelope"]["event_id"])
    problems = []
    for fld in reader.schema["fields"]:
        if fld.get("personal") is not True:
            continue
        name = fld["name"]
        blob = sealed.get(name)
        record[name] = None
        if blob is None:
            problems.append(Problem(name, "personal field not sealed"))
            continue
        try:
            key = None if keys is None else keys(person, key_id_of(blob))
            if key is None:
                continue
            value = open_value(key, blob, event_id, name)
        except SealError as exc:
            problems.append(Problem(name, str(exc)))
            continue
        if not _fits(reader, fld["type"], value):
            problems.append(Problem(name, f"sealed value {type(value).__name__} is not its type"))
            continue
        record[name] = value
    return problems


def _resolve(sv: SchemaVersion, node: Any) -> Any:
    if isinstance(node, str) and node not in PRIMITIVES:
        return sv.named_types.get(full_name(node, str(sv.schema["namespace"])), node)
    return node


def _placeholder(sv: SchemaVersion, node: Any) -> Any:
    node = _resolve(sv, node)
    if isinstance(node, list):
        return None if "null" in node else _placeholder(sv, node[0])
    kind = node.get("type") if isinstance(node, dict) else node
    if kind == "enum":
        return node["symbols"][0]
    neutral: dict[str, Any] = {"string": "", "int": 0, "long": 0, "boolean": False}
    return neutral[str(kind)]


def _fits(sv: SchemaVersion, node: Any, value: Any) -> bool:
    node = _resolve(sv, node)
    if isinstance(node, list):
        return any(_fits(sv, branch, value) for branch in node)
    kind = node.get("type") if isinstance(node, dict) else node
    if kind == "null":
        return value is None
    if kind == "enum":
        return isinstance(value, str) and value in node["symbols"]
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    return kind == "string" and isinstance(value, str)
