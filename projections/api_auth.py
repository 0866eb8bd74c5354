"""Who may call what on the API: the bearer token of a request, checked against the token store
(projections.api_tokens), and the roles each kind of resource admits. 401 when there is no
valid token (with the Bearer challenge), 403 when the token is valid but its role is not
admitted; a token in the URL (`?token=`, `?access_token=`) is refused outright, as URLs end up
in logs, proxies and browser history. Pure apart from the store's file.
"""

from __future__ import annotations

from collections.abc import Iterable

from projections.api_tokens import ORGANISATION, Holder, TokenStore

# Aggregates under /v1: disclosure-controlled, for analysts (and for auditors and admins).
FIGURES = frozenset({"analyst", "auditor", "admin"})
# Person-level data (timelines) and the read log, which is person-level too.
AUDIT = frozenset({"auditor", "admin"})
# Publishing over HTTP: an organisation's own token only (it publishes as itself; not admin).
PUBLISHERS = frozenset({ORGANISATION})
URL_TOKEN_PARAMETERS = frozenset({"token", "access_token"})
CHALLENGE = 'Bearer realm="ketenlog"'


class AuthError(Exception):
    def __init__(self, status: int, detail: str, challenge: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.challenge = status, detail, challenge


def tokens_in_url(parameters: Iterable[str]) -> list[str]:
    """The query parameters that look like a credential (by name, in any case)."""
    return sorted({p for p in parameters if p.lower() in URL_TOKEN_PARAMETERS})


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header (scheme in any case), or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authorise(store: TokenStore, authorization: str | None, admitted: frozenset[str]) -> Holder:
    """The holder of the request's token if its role is admitted; else AuthError."""
    token = bearer(authorization)
    if token is None:
        raise AuthError(401, "a bearer token is required (Authorization: Bearer ...)", CHALLENGE)
    holder = store.holder(token)
    if holder is None:
        raise AuthError(
            401,
            "the bearer token is not valid (unknown or rotated)",
            f'{CHALLENGE}, error="invalid_token"',
        )
    if holder.role not in admitted:
        raise AuthError(
            403,
            f"the role {holder.role!r} may not use this resource; it needs one of "
            + ", ".join(sorted(admitted)),
        )
    return holder
