"""`ketenlog serve` against a processed database: the API as the NLGov REST API Design Rules
ask (version header, problem details naming every invalid parameter, security headers, CORS
allowlist, JSON and CSV, no person keys), and the dashboard rendered in a real headless
Chromium, whose DOM must hold every chart drawn with data and whose screenshot is kept."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServices
from tests.integration.pipeline import Published, half_up
from tests.integration.serving import get, serving, unfollowed

pytestmark = pytest.mark.integration

ALLOWED = "https://analist.example.nl"
CAPACITY_CHART = "Bezetting tegen capaciteit COA per locatietype (eind van de week)"


@pytest.fixture(scope="module")
def server(services: RunningServices, processed_db: str) -> Iterator[str]:
    with serving(processed_db, KETENLOG_CORS_ORIGINS=ALLOWED) as base:
        yield base


def test_figures_as_json_and_csv_with_the_api_rules(server: str, published: Published) -> None:
    status, headers, body = get(f"{server}/v1/instroom?periode=maand&indeling=kind")
    assert status == 200
    assert headers["API-Version"] == "1.0.0"
    for name in ("X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options"):
        assert name in headers
    rows = json.loads(body)["resultaten"]
    assert rows and {"period", "kind", "applications"} == set(rows[0])
    # Disclosure control: suppressed (null) or a multiple of 5.
    assert all(r["applications"] is None or r["applications"] % 5 == 0 for r in rows)
    status, headers, body = get(f"{server}/v1/bezetting?indeling=location_type", Accept="text/csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.decode().splitlines()[0] == "period,location_type,persons"
    everything = b"".join(
        get(f"{server}/v1/{name}?periode=dag")[2]
        for name in (
            "instroom",
            "beslissingen",
            "vertrek",
            "bezetting",
            "goo-bezetting",
            "achterstand",
            "achterstand-buiten-termijn",
            "huisvesting",
        )
    )
    assert not any(key.encode() in everything for key in published.person_keys)


def test_inflow_by_person_attributes_eurostat_persons_and_lead_times(
    server: str, published: Published
) -> None:
    status, _, body = get(f"{server}/v1/instroom?periode=jaar&indeling=nationality,age_band,sex")
    assert status == 200
    rows = json.loads(body)["resultaten"]
    assert rows and {"period", "nationality", "age_band", "sex", "applications"} == set(rows[0])
    assert {r["age_band"] for r in rows} <= {"0-13", "14-17", "18-34", "35-64", "65+", "UNKNOWN"}
    status, _, body = get(f"{server}/v1/instroom-eurostat?periode=maand&indeling=applicant_type")
    assert status == 200
    rows = json.loads(body)["resultaten"]
    assert rows and {r["applicant_type"] for r in rows} <= {"FIRST_TIME", "SUBSEQUENT"}
    assert all(r["applicants"] is None or r["applicants"] % 5 == 0 for r in rows)
    status, _, body = get(f"{server}/v1/instroom-eurostat?periode=week")
    assert status == 400
    assert [p["name"] for p in json.loads(body)["invalidParams"]] == ["periode"]
    status, _, body = get(f"{server}/v1/doorlooptijden?periode=maand&indeling=outcome")
    assert status == 200
    rows = json.loads(body)["resultaten"]
    assert rows
    for r in rows:
        assert set(r) == {"period", "outcome", "decisions", "p50_lead_days", "p90_lead_days"}
        # A percentile needs ten decisions (their count with its noise of at most 2): withheld
        # where the count is suppressed or published as 5 (at most 7), in whole days otherwise.
        if r["decisions"] is None or r["decisions"] <= 5:
            assert r["p50_lead_days"] is None and r["p90_lead_days"] is None
        elif r["p50_lead_days"] is not None:
            assert r["p50_lead_days"] <= r["p90_lead_days"]
            assert r["p50_lead_days"] == int(r["p50_lead_days"])
    everything = b"".join(
        get(f"{server}/v1/{name}?periode=maand&indeling={by}")[2]
        for name, by in (("instroom-eurostat", "nationality,sex"), ("doorlooptijden", "track"))
    )
    assert not any(key.encode() in everything for key in published.person_keys)


def test_residents_capacity_and_relocations_with_disclosure_control(
    server: str, published: Published
) -> None:
    status, _, body = get(f"{server}/v1/bewoners?periode=maand&indeling=resident_status")
    assert status == 200
    rows = json.loads(body)["resultaten"]
    assert {r["resident_status"] for r in rows} >= {"IN_PROCEDURE", "STATUS_HOLDER"}
    assert all(r["persons"] is None or r["persons"] % 5 == 0 for r in rows)
    status, _, body = get(f"{server}/v1/capaciteit?periode=maand&indeling=location_type")
    assert status == 200
    rows = json.loads(body)["resultaten"]
    assert rows and set(rows[0]) == {
        "period",
        "location_type",
        "persons",
        "places",
        "occupancy_rate",
    }
    placed = [r for r in rows if r["places"]]
    assert placed and any(r["places"] % 5 for r in placed), "places are not rounded"
    for r in placed:
        # The rate follows from what is published, never from the exact count.
        if r["persons"] is None:
            assert r["occupancy_rate"] is None
        else:
            assert r["occupancy_rate"] == half_up(100 * r["persons"], r["places"], 1), r
    status, _, body = get(f"{server}/v1/verhuisbewegingen?periode=jaar")
    assert status == 200
    rows = json.loads(body)["resultaten"]
    assert rows and all(r["relocations"] is None or r["relocations"] % 5 == 0 for r in rows)
    assert any(r["relocations_per_resident_year"] for r in rows), rows
    status, _, body = get(f"{server}/v1/verhuisbewegingen?periode=maand")
    assert status == 400 and [p["name"] for p in json.loads(body)["invalidParams"]] == ["periode"]
    everything = b"".join(
        get(f"{server}/v1/{name}?periode=dag&indeling={by}")[2]
        for name, by in (("bewoners", "location_id,resident_status"), ("capaciteit", "location_id"))
    )
    assert not any(key.encode() in everything for key in published.person_keys)


def test_every_invalid_parameter_is_named_in_a_problem(server: str) -> None:
    status, headers, body = get(f"{server}/v1/vertrek?periode=eeuw&van=gisteren&indeling=x")
    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert headers["API-Version"] == "1.0.0"
    problem = json.loads(body)
    assert problem["status"] == 400
    assert {p["name"] for p in problem["invalidParams"]} == {"periode", "van", "indeling"}
    status, headers, _ = get(f"{server}/v1/personen")
    assert status == 404 and headers["Content-Type"].startswith("application/problem+json")


def test_home_redirects_to_the_dashboard_and_errors_keep_their_headers_and_dutch_titles(
    server: str,
) -> None:
    status, headers, body = unfollowed(f"{server}/")
    assert status == 302 and headers["Location"] == "/dashboard", (status, headers, body)
    assert not body.startswith(b"{"), "a redirect, not a problem"
    assert unfollowed(f"{server}/dashboard")[0] == 200
    # aiohttp's own errors keep their headers (Allow) and speak Dutch as ours do.
    status, headers, body = unfollowed(f"{server}/v1/instroom", "POST")
    assert status == 405 and {"GET", "HEAD"} <= set(headers["Allow"].split(",")), headers
    assert headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["title"] == "Methode niet toegestaan"
    titles = {
        json.loads(get(f"{server}{path}")[2])["title"]
        for path in ("/v1/personen", "/nergens", "/v1/vertrek?periode=eeuw")
    }
    assert titles == {"Niet gevonden", "Ongeldig verzoek"}


def test_cors_answers_only_the_allowlist_and_openapi_names_the_dutch_resources(
    server: str,
) -> None:
    _, allowed, body = get(f"{server}/v1/openapi.json", Origin=ALLOWED)
    assert allowed["Access-Control-Allow-Origin"] == ALLOWED
    _, other, _ = get(f"{server}/v1/openapi.json", Origin="https://elders.example")
    assert "Access-Control-Allow-Origin" not in other
    paths = json.loads(body)["paths"]
    assert {"/instroom", "/beslissingen", "/vertrek", "/bezetting"} <= set(paths)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is missing: `./ketenlog.sh test` installs it (apt package chromium)")
    return found


def headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1600,1300",
    ]
    return subprocess.run(
        [chromium(), *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_dashboard_renders_every_chart_with_data_in_chromium(
    processed_db: str, tmp_path: Path, services: RunningServices
) -> None:
    # The test period is small: with disclosure control on, whole charts would be suppressed.
    with serving(
        processed_db,
        KETENLOG_DISCLOSURE_MIN="1",
        KETENLOG_DISCLOSURE_ROUND="1",
        KETENLOG_DISCLOSURE_NOISE="0",
    ) as url:
        render_and_check(url, tmp_path, services.settings.home / "artifacts" / "dashboard.png")


def render_and_check(server: str, tmp_path: Path, shot: Path) -> None:
    dom = headless(tmp_path, "--dump-dom", f"{server}/dashboard").stdout
    charts = re.findall(r'<figure class="chart" data-points="(\d+)"><figcaption>([^<]+)', dom)
    titles = [title for _, title in charts]
    assert titles[:-1] == [
        "Instroom per week naar soort",
        "Bezetting COA per locatietype (eind van de week)",
        CAPACITY_CHART,
        "Vertrek per maand naar soort",
        "Beslissingen per maand naar uitkomst",
        "Achterstand IND (eind van de week)",
    ]
    assert titles[-1].startswith("Huisvesting statushouders per gemeente")
    assert all(int(points) > 0 for points, _ in charts), charts
    assert dom.count('class="series"') >= 2 and dom.count('class="bar"') >= 2
    # Occupancy against capacity: per location type a line of persons and one of places.
    figure = dom[dom.index(CAPACITY_CHART) : dom.index("</figure>", dom.index(CAPACITY_CHART))]
    lines = re.findall(r'data-series="([^"]+)" data-kind="(\w+)" data-points="(\d+)"', figure)
    kinds = {kind for _, kind, n in lines if int(n) > 0}
    assert kinds == {"bezetting", "capaciteit"}, lines
    assert {"AZC", "COL"} <= {name for name, _, n in lines if int(n) > 0}, lines
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    done = headless(tmp_path, f"--screenshot={shot}", f"{server}/dashboard")
    assert shot.exists(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # A blank page of this size compresses to a few kB; drawn charts do not.
    assert len(png) > 30_000, len(png)
