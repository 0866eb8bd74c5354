"""The API's tokens on the settings' store (`ketenlog tokens`): issue a role's or an
organisation's bearer token, or rotate it (projections.api_tokens)."""

from __future__ import annotations

from ketenlog.settings import Settings
from projections.api_tokens import Issued, TokenError, TokenStore, subject_role
from schemas.topics import Org


def issue(settings: Settings, name: str, rotate: bool) -> Issued:
    """A new token for a role or organisation; refused when it has one and `rotate` is not set
    (a stored token cannot be shown again: only its hash is kept)."""
    subject, role = subject_role(name, tuple(o.value for o in Org))
    store = TokenStore(settings.api_tokens)
    held = store.find(subject)
    if held is not None and not rotate:
        raise TokenError(
            f"{subject} has a token (id {held.id}, created {held.created}); it is stored only "
            "as a hash and cannot be shown again: --rotate replaces it"
        )
    return store.issue(subject, role)
