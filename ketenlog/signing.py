"""Where the commands get the organisations' signing keys and the processor and the auditor
the registry of public keys (infra/signing_keys.py, from the setting KETENLOG_SIGNING_KEYS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.signing_keys import KeyStore, ReloadingVerifier
from ketenlog.settings import Settings
from schemas.signature import Signer, Verifier
from schemas.topics import Org


def signer_of(settings: Settings, say: Callable[[str], None]) -> Callable[[Org | str], Signer]:
    """Each organisation's signer; an organisation's first publication here creates its key,
    and says so."""
    store = KeyStore(settings.signing_dir)
    cache: dict[str, Signer] = {}

    def get(org: Org | str) -> Signer:
        code = Org(org).value
        if code not in cache:
            signer, created = store.signer(code)
            if created:
                say(
                    f"keys: created {code}'s signing key {signer.key_id} under {store.root} "
                    f"(public key in {store.registry_path})"
                )
            cache[code] = signer
        return cache[code]

    return get


def live_verifier(settings: Settings) -> Verifier:
    """The gate's verifier: re-reads the registry when an organisation rotates its key."""
    return ReloadingVerifier(KeyStore(settings.signing_dir))


def signing_keys(settings: Settings) -> KeyStore:
    return KeyStore(settings.signing_dir)


def verifier(settings: Settings) -> Verifier:
    return KeyStore(settings.signing_dir).verifier()


def registry(settings: Settings) -> dict[str, Any]:
    """The public-key registry document: what replay and verify check against, and what an
    export carries."""
    return KeyStore(settings.signing_dir).registry()
