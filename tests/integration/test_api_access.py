"""The API's roles and the read log over a real socket, on the session's processed database:
a person's timeline is refused without a token (401), with an analyst's or an organisation's
(403) and without a purpose (400); with an auditor's token and a purpose it is answered and
is in the read log — on the API and in `ketenlog reads` — with its trace id and purpose. The
aggregates need a token too (the dashboard does not), a token in the URL is refused, a rotated
token stops working on the running server, the log refuses UPDATE, DELETE and TRUNCATE, and
the command line's timeline refuses to read without --purpose and records the read with one."""

from __future__ import annotations

import json
import os
import pwd
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest

from projections.api_tokens import TokenStore
from tests.conftest import RunningServices
from tests.integration.pipeline import Published, ketenlog
from tests.integration.serving import get, post, serving, tokens

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
PURPOSE = "onderzoek klacht 2026-17"
LEGAL_BASIS = "art. 6 lid 1 sub e AVG"


class Served(NamedTuple):
    base: str
    store: dict[str, str]
    token: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, processed_db: str) -> Iterator[Served]:
    store, token = tokens(tmp_path_factory.mktemp("tokens"), "analyst", "auditor", "IND")
    with serving(processed_db, KETENLOG_API_OPEN_FIGURES="0", **store) as base:
        yield Served(base, store, token)


def test_a_timeline_read_needs_an_auditor_and_a_purpose_and_is_in_the_read_log(
    served: Served, services: RunningServices, processed_db: str, published: Published
) -> None:
    url = f"{served.base}/v1/audit/tijdlijn"
    person = sorted(published.person_keys)[0]
    asked = json.dumps({"persoon": person, "doel": PURPOSE, "grondslag": LEGAL_BASIS}).encode()

    status, headers, body = post(url, asked, **JSON)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), body
    assert headers["Content-Type"].startswith("application/problem+json")
    for who in ("analyst", "IND"):
        status, headers, body = post(url, asked, **JSON, Authorization=served.token[who])
        assert status == 403, (who, body)
        assert json.loads(body)["status"] == 403 and "WWW-Authenticate" not in headers
    auditor = {**JSON, "Authorization": served.token["auditor"]}
    no_purpose = json.dumps({"persoon": person}).encode()
    status, _, body = post(url, no_purpose, **auditor)
    assert status == 400 and [p["name"] for p in json.loads(body)["invalidParams"]] == ["doel"]

    trace_id = secrets.token_hex(16)
    status, headers, body = post(url, asked, **auditor, traceparent=f"00-{trace_id}-{'1' * 16}-01")
    assert status == 200, body
    assert json.loads(body)["person_key"] == person and json.loads(body)["events"]
    assert headers["traceparent"].startswith(f"00-{trace_id}-")

    holder = TokenStore(Path(served.store["KETENLOG_API_TOKENS"])).find("auditor")
    assert holder is not None
    status, _, body = get(f"{served.base}/v1/audit/inzages?traceId={trace_id}", **auditor)
    assert status == 200, body
    [logged] = json.loads(body)["resultaten"]
    assert logged["person_key"] == person and logged["purpose"] == PURPOSE
    assert logged["legal_basis"] == LEGAL_BASIS and logged["result"] == "answered"
    assert (logged["subject_role"], logged["subject_id"]) == ("auditor", holder.id)
    assert logged["operation"] == "POST /v1/audit/tijdlijn"
    assert logged["started_at"] <= logged["ended_at"]
    assert get(f"{served.base}/v1/audit/inzages", Authorization=served.token["analyst"])[0] == 403

    listed = ketenlog(services, processed_db, "reads", "--person", person, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [r for r in json.loads(listed.stdout) if r["trace_id"] == trace_id] == [logged]


def test_aggregates_need_a_token_never_in_the_url_and_rotation_locks_out_the_old_one(
    served: Served, services: RunningServices, processed_db: str
) -> None:
    url = f"{served.base}/v1/instroom?periode=maand"
    status, headers, _ = get(url)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    old = served.token["analyst"]
    assert get(url, Authorization=old)[0] == 200
    assert get(url, Authorization=served.token["auditor"])[0] == 200
    status, _, body = get(f"{url}&token={old.removeprefix('Bearer ')}", Authorization=old)
    assert status == 400 and json.loads(body)["invalidParams"][0]["name"] == "token"
    assert get(f"{served.base}/dashboard")[0] == 200, "the dashboard stays open"

    rotated = ketenlog(services, processed_db, "tokens", "analyst", "--rotate", env=served.store)
    assert rotated.returncode == 0, rotated.stderr
    issued = json.loads(rotated.stdout)
    assert issued["role"] == "analyst" and issued["subject"] == "analyst"
    again = ketenlog(services, processed_db, "tokens", "analyst", env=served.store)
    assert again.returncode == 1 and "--rotate" in again.stderr, "a token is shown only once"
    assert get(url, Authorization=old)[0] == 401, "the rotated token still works"
    assert get(url, Authorization=f"Bearer {issued['token']}")[0] == 200


def test_the_read_log_is_append_only(processed_db: str, served: Served) -> None:
    # `served` migrated the database; the log holds at least the reads of the tests above.
    with psycopg.connect(processed_db, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM logboek.verwerkingen").fetchone()
        for statement in (
            "UPDATE logboek.verwerkingen SET purpose = 'covered up'",
            "DELETE FROM logboek.verwerkingen",
            "TRUNCATE logboek.verwerkingen",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        after = conn.execute("SELECT count(*) FROM logboek.verwerkingen").fetchone()
    assert before == after


def test_the_command_line_timeline_needs_a_purpose_and_records_the_read(
    services: RunningServices, processed_db: str, published: Published
) -> None:
    person = sorted(published.person_keys)[1]
    refused = ketenlog(services, processed_db, "timeline", person, "--format", "json")
    assert refused.returncode == 2 and "--purpose" in refused.stderr
    blank = ketenlog(services, processed_db, "timeline", person, "--purpose", "  ")
    assert blank.returncode == 2 and "--purpose" in blank.stderr
    read = ketenlog(
        services, processed_db, "timeline", person, "--format", "json", "--purpose", PURPOSE
    )
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["person_key"] == person
    trace_id = read.stderr.split("(trace ", 1)[1][:32]
    listed = ketenlog(services, processed_db, "reads", "--person", person, "--format", "json")
    [logged] = [r for r in json.loads(listed.stdout) if r["trace_id"] == trace_id]
    assert (logged["subject_role"], logged["subject_id"]) == ("cli", pwd.getpwuid(os.getuid())[0])
    assert logged["purpose"] == PURPOSE and logged["operation"] == "ketenlog timeline"


def test_a_read_that_cannot_be_logged_is_not_answered(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    store, token = tokens(tmp_path, "auditor")
    asked = json.dumps({"persoon": "cd" * 16, "doel": PURPOSE}).encode()
    with serving(fresh_db, **store) as base:
        url = f"{base}/v1/audit/tijdlijn"
        assert post(url, asked, **JSON, Authorization=token["auditor"])[0] == 404
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION logboek.broken() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'the read log is broken'; END $$;"
                " CREATE TRIGGER broken BEFORE INSERT ON logboek.verwerkingen"
                " FOR EACH ROW EXECUTE FUNCTION logboek.broken()"
            )
        status, _, body = post(url, asked, **JSON, Authorization=token["auditor"])
        assert status == 500 and b"person_key" not in body, body
    cli = ketenlog(services, fresh_db, "timeline", "cd" * 16, "--purpose", PURPOSE)
    assert cli.returncode != 0 and "the read log is broken" in cli.stderr
