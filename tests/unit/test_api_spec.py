"""One validation for the API and `ketenlog query` (projections.api_spec), and the OpenAPI
document built from the same declarations: what each interface answers to invalid input, and
that the document names every parameter the validator takes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ketenlog import cli
from projections.api_spec import API, CLI, HOUSING, RESOURCES, ParameterError, parameters, validate
from projections.openapi import document
from projections.queries import CATALOGUE


def problems(projection: str, given: dict[str, str], surface: object = API) -> dict[str, str]:
    with pytest.raises(ParameterError) as caught:
        validate(projection, given, surface)  # type: ignore[arg-type]
    return {i.name: f"{i.value} | {i.reason}" for i in caught.value.invalid}


def test_the_api_names_every_invalid_parameter_with_its_value() -> None:
    found = problems(
        "inflow",
        {"van": "2026-13-01", "periode": "eeuw", "indeling": "kind,x", "taakperiode": "2026-I"},
    )
    assert set(found) == {"van", "periode", "indeling", "taakperiode"}
    assert found["van"] == "2026-13-01 | not a date (YYYY-MM-DD)"
    assert "dag, week, maand, jaar" in found["periode"]
    assert "no dimension x" in found["indeling"]
    assert "not a parameter of instroom" in found["taakperiode"]
    assert problems("inflow", {"van": "2026-03-01", "tot": "2026-02-01"}) == {
        "tot": "2026-02-01 | before van 2026-03-01"
    }
    assert set(problems("inflow_eurostat", {"periode": "week"})) == {"periode"}
    # schemathesis found `indeling=` accepted though the document's array has no empty name.
    assert problems("anomalies", {"indeling": ""}) == {"indeling": " | an empty dimension name"}
    assert set(problems("inflow", {"indeling": "kind,,sex"})) == {"indeling"}
    assert set(problems(HOUSING, {"taakperiode": "2026-III", "bekend-op": "gisteren"})) == {
        "taakperiode",
        "bekend-op",
    }


def test_a_valid_request_is_read_into_internal_terms() -> None:
    asked = validate(
        "inflow",
        {"van": "2026-01-01", "periode": "week", "indeling": "kind,sex", "bekend-op": "2026-02-01"},
    )
    assert (asked.period, asked.by, asked.start) == ("week", ("kind", "sex"), date(2026, 1, 1))
    assert asked.known_at == datetime(2026, 2, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert validate("relocations", {}).period == "year"
    # Each interface in its own words: English periods on the command line, Dutch on the API.
    assert validate("inflow", {"periode": "month"}, CLI).period == "month"
    assert validate("inflow", {"periode": "maand"}).period == "month"
    assert set(problems("inflow", {"periode": "month"})) == {"periode"}
    moment = validate(HOUSING, {"bekend-op": "2026-02-01T10:00:00+01:00"}).known_at
    assert moment == datetime(2026, 2, 1, 9, tzinfo=UTC)


def test_a_moment_is_read_in_utc_even_at_the_calendars_edges() -> None:
    # schemathesis found these: PostgreSQL refuses offsets past 15:59, RFC 3339 allows 23:59.
    def moment(text: str) -> datetime | None:
        return validate("anomalies", {"bekend-op": text}).known_at

    assert moment("5175-04-12T01:13:24-22:27") == datetime(5175, 4, 12, 23, 40, 24, tzinfo=UTC)
    assert moment("9999-12-31T23:00:00-23:59") == datetime.max.replace(tzinfo=UTC)
    assert moment("0001-01-01T00:00:00+23:59") == datetime.min.replace(tzinfo=UTC)


def test_the_command_line_names_its_own_options() -> None:
    assert problems("inflow", {"van": "2026-13-01"}, CLI) == {
        "--from": "2026-13-01 | not a date (YYYY-MM-DD)"
    }
    assert (
        "inflow_eurostat is per one of month, year"
        in problems("inflow_eurostat", {"periode": "week"}, CLI)["--by"]
    )
    assert (
        "not a parameter of inflow"
        in problems("inflow", {"taakperiode": "2026-I"}, CLI)["--task-period"]
    )
    assert problems("backlog", {"indeling": "kind"}, CLI) == {
        "--by": "kind | backlog has no dimensions"
    }


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["inflow", "--from", "2026-13-01"], "--from '2026-13-01': not a date"),
        (["inflow", "--from", "2026-03-01", "--to", "2026-02-01"], "--to '2026-02-01': before"),
        (["housing", "--task-period", "2026-III"], "--task-period '2026-III': a half year"),
        (["decisions", "--task-period", "2026-I"], "--task-period '2026-I': not a parameter"),
        (["inflow_eurostat", "--by", "week"], "--by 'week': inflow_eurostat is per"),
        (["inflow", "--as-known-at", "gisteren"], "--as-known-at 'gisteren': an ISO date"),
    ],
)
def test_ketenlog_query_exits_2_naming_the_option_and_value(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Validation comes before any connection: these need no database.
    assert cli.main(["query", *argv]) == 2
    err = capsys.readouterr().err
    assert named in err, err
    assert "fromisoformat" not in err


def test_query_help_lists_each_projection_with_its_dimensions_and_periods(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["query", "--help"])
    out = capsys.readouterr().out
    for p in CATALOGUE.values():
        block = out[out.index(f"\n  {p.name}\n") :]
        assert f"dimensions: {', '.join(p.dimensions) or 'none'}" in block[:600], p.name
        assert "periods: " + ", ".join(
            f"{x} (default)" if x == p.default_period else x for x in p.periods
        ) in block[:600].replace("\n    ", " "), p.name
    assert "\n  housing\n" in out and "--task-period" in out


def test_the_document_has_bekend_op_the_audit_endpoint_and_every_response_schema() -> None:
    doc = document()
    schemas = doc["components"]["schemas"]
    audit_paths = {"/audit/tijdlijn", "/audit/inzages", "/gezondheid", "/gebeurtenissen"}
    assert set(doc["paths"]) == {f"/{r}" for r in RESOURCES} | audit_paths
    for resource, projection in RESOURCES.items():
        get = doc["paths"][f"/{resource}"]["get"]
        names = [p["name"] for p in get["parameters"]]
        assert names == [p.name for p in parameters(projection)]
        assert "bekend-op" in names and "formaat" in names
        ok = get["responses"]["200"]["content"]
        ref = ok["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        rows = schemas[ref]["properties"]["resultaten"]["items"]["$ref"].rsplit("/", 1)[1]
        assert schemas[rows]["additionalProperties"] is False
        assert "text/csv" in ok
        assert "application/problem+json" in get["responses"]["400"]["content"]
    assert {"van", "tot", "periode", "indeling"} <= {
        p["name"] for p in doc["paths"]["/instroom"]["get"]["parameters"]
    }
    assert [p["name"] for p in doc["paths"]["/huisvesting"]["get"]["parameters"]] == [
        "taakperiode",
        "formaat",
        "bekend-op",
    ]
    audit = doc["paths"]["/audit/tijdlijn"]["post"]
    assert audit["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    body = audit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schemas[body.rsplit("/", 1)[1]]["required"] == ["persoon", "doel"]
    reads = doc["paths"]["/audit/inzages"]["get"]
    assert reads["security"] == [{"bearer": []}] == doc["paths"]["/instroom"]["get"]["security"]
    assert [p["name"] for p in reads["parameters"]] == ["van", "traceId"]
    for operation in (audit, reads, doc["paths"]["/instroom"]["get"]):
        assert {"401", "403"} <= set(operation["responses"])
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    assert {"200", "400", "401", "403", "404", "503"} <= set(audit["responses"])
    ingest = doc["paths"]["/gebeurtenissen"]["post"]
    assert ingest["security"] == [{"bearer": []}]
    assert set(ingest["requestBody"]["content"]) == {
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
    }
    assert {"201", "400", "401", "403", "413", "415", "429", "503"} <= set(ingest["responses"])
    assert "Retry-After" in ingest["responses"]["429"]["headers"]
    health = doc["paths"]["/gezondheid"]["get"]
    assert [p["name"] for p in health["parameters"]] == ["groep"]
    for status in ("200", "503"):  # the same body either way: pass or fail
        content = health["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert content.endswith("/Gezondheid")
    assert schemas["Gezondheid"]["properties"]["status"]["enum"] == ["pass", "fail"]


def test_every_documented_value_is_accepted_and_nothing_undocumented() -> None:
    for projection in [*CATALOGUE, HOUSING]:
        for p in parameters(projection):
            for value in p.schema.get("enum", []):
                validate(projection, {p.name: value})
            if p.schema.get("type") == "array":
                validate(projection, {p.name: ",".join(p.schema["items"]["enum"])})
        with pytest.raises(ParameterError):
            validate(projection, {"limit": "10"})
