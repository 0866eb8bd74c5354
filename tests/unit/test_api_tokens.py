"""The API's token store and access check: tokens stored only as SHA-256 hashes in an
owner-only file, one per subject, a rotation that locks the old token out (also for a store
already open in a running server), every stored hash compared in constant time, 401 versus 403
as problems, and a token in the URL refused before anything else."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from aiohttp import test_utils

from projections.api_auth import AUDIT, FIGURES, AuthError, authorise, bearer, tokens_in_url
from projections.api_tokens import TokenError, TokenStore, subject_role
from projections.disclosure import Disclosure
from projections.http_api import Api, make_app

ORGS = ("IND", "COA")


def test_a_token_is_random_and_stored_only_as_its_hash_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "api" / "tokens.json"
    store = TokenStore(path)
    first, second = store.issue("analyst", "analyst"), store.issue("auditor", "auditor")
    assert first.token != second.token and len(first.token) >= 43  # 32 bytes, url-safe base64
    text = path.read_text()
    assert first.token not in text and second.token not in text
    entries = json.loads(text)["tokens"]
    assert {e["sha256"] for e in entries} == {
        hashlib.sha256(t.encode()).hexdigest() for t in (first.token, second.token)
    }
    assert {e["subject"]: e["role"] for e in entries} == {
        "analyst": "analyst",
        "auditor": "auditor",
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.holder(first.token) == first.holder
    assert store.holder(second.token) == second.holder
    assert store.holder(first.token + "x") is None and store.holder("") is None


def test_rotation_locks_out_the_old_token_also_in_a_store_already_open(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    serving = TokenStore(path)  # as a running `serve` holds it
    old = TokenStore(path).issue("IND", "organisation")
    assert serving.holder(old.token) == old.holder
    new = TokenStore(path).issue("IND", "organisation")  # `ketenlog tokens IND --rotate`
    assert serving.holder(old.token) is None, "the rotated token still works"
    assert serving.holder(new.token) == new.holder and new.holder.id != old.holder.id
    assert [h.subject for h in serving.holders()] == ["IND"]


def test_every_stored_hash_is_compared_in_constant_time_found_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    issued = [store.issue(subject, subject) for subject in ("analyst", "auditor", "admin")]
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for token in (issued[0].token, issued[2].token, "not-a-token"):
        calls.clear()
        store.holder(token)
        assert len(calls) == 3, "a lookup that stops early tells by its time which entry matched"


def test_subjects_are_roles_or_organisations() -> None:
    assert subject_role(" Auditor", ORGS) == ("auditor", "auditor")
    assert subject_role("coa", ORGS) == ("COA", "organisation")
    with pytest.raises(TokenError, match="unknown role or organisation 'nobody'"):
        subject_role("nobody", ORGS)


def test_a_store_that_cannot_be_read_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    with pytest.raises(TokenError, match=r"tokens\.json cannot be read"):
        TokenStore(path).holder("x")


def test_401_without_a_valid_token_403_with_the_wrong_role(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    analyst = store.issue("analyst", "analyst").token
    ind = store.issue("IND", "organisation").token
    assert bearer(f"bearer  {analyst} ") == analyst and bearer(f"Basic {analyst}") is None
    with pytest.raises(AuthError) as no_token:
        authorise(store, None, FIGURES)
    assert no_token.value.status == 401 and no_token.value.challenge == 'Bearer realm="ketenlog"'
    with pytest.raises(AuthError) as wrong:
        authorise(store, "Bearer guess", FIGURES)
    assert wrong.value.status == 401 and 'error="invalid_token"' in (wrong.value.challenge or "")
    with pytest.raises(AuthError) as forbidden:
        authorise(store, f"Bearer {analyst}", AUDIT)
    assert forbidden.value.status == 403 and forbidden.value.challenge is None
    assert authorise(store, f"Bearer {analyst}", FIGURES).role == "analyst"
    with pytest.raises(AuthError, match="'organisation' may not"):
        authorise(store, f"Bearer {ind}", FIGURES)


def test_tokens_in_the_url_are_named_in_any_case() -> None:
    assert tokens_in_url(["van", "Token", "access_token", "tot"]) == ["Token", "access_token"]
    assert tokens_in_url(["van", "tokens"]) == []


def _answers(store: TokenStore, *requests: tuple[str, str, dict[str, str], bytes | None]) -> Any:
    """The server's answers (status, headers, JSON body), before any database is reached."""

    async def ask() -> list[tuple[int, dict[str, str], Any]]:
        api = Api(
            "postgresql://nobody@127.0.0.1:1/none", Disclosure(5, 5), frozenset(), tokens=store
        )
        async with test_utils.TestClient(test_utils.TestServer(make_app(api))) as client:
            answers = []
            for method, url, headers, body in requests:
                response = await client.request(method, url, headers=headers, data=body)
                answers.append((response.status, dict(response.headers), await response.json()))
            return answers

    return asyncio.run(ask())


def test_the_server_refuses_url_tokens_and_answers_401_and_403_as_problems(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    analyst = {"Authorization": f"Bearer {store.issue('analyst', 'analyst').token}"}
    auditor = {"Authorization": f"Bearer {store.issue('auditor', 'auditor').token}"}
    person = json.dumps({"persoon": "ab" * 16}).encode()
    in_url, no_token, analyst_audit, analyst_log, no_purpose = _answers(
        store,
        ("GET", "/v1/instroom?access_token=abc", analyst, None),
        ("GET", "/v1/instroom", {}, None),
        ("POST", "/v1/audit/tijdlijn", analyst, person),
        ("GET", "/v1/audit/inzages", analyst, None),
        ("POST", "/v1/audit/tijdlijn", auditor, person),
    )
    assert in_url[0] == 400 and in_url[1]["Content-Type"].startswith("application/problem+json")
    assert in_url[2]["invalidParams"] == [
        {"name": "access_token", "reason": "a credential in the URL"}
    ]
    assert no_token[0] == 401 and no_token[1]["WWW-Authenticate"].startswith("Bearer")
    assert no_token[2]["status"] == 401
    assert analyst_audit[0] == 403 == analyst_log[0] and "WWW-Authenticate" not in analyst_audit[1]
    assert no_purpose[0] == 400
    assert [p["name"] for p in no_purpose[2]["invalidParams"]] == ["doel"]
