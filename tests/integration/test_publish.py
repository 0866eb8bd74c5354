"""The agency publisher and `ketenlog publish` against a real broker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra import kafka_broker
from infra import services as infra_services
from ketenlog.settings import Settings
from ketenlog.settings import load as load_settings
from producers.prepare import Preparer
from producers.pseudonym import person_key
from producers.publisher import DeliverySettings, Publisher, PublishError
from producers.submission import Submission
from schemas.codec import decode
from schemas.topics import catalogue, event_topic
from tests.conftest import RunningServices, kafka_env
from tests.integration.kafka_tools import end_offsets, free_ports, read_from

pytestmark = pytest.mark.integration

CHAIN_KEY = "t" * 40
START = datetime(2026, 2, 1, tzinfo=UTC)


def v_nummer(i: int) -> str:
    return f"{7_700_000_000 + i:010d}"


def line(i: int) -> dict[str, object]:
    return {
        "type": "ReceptionStarted",
        "v_nummer": f"{v_nummer(i)[:4]}.{v_nummer(i)[4:7]}.{v_nummer(i)[7:]}",
        "occurred_at": (START + timedelta(minutes=i)).isoformat(),
        "ref": f"COA-OVK-{i}",
        "data": {"reception_group": "ASYLUM_SEEKER"},
    }


def run_publish(
    services: RunningServices, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        **services.kafka_env,
        "KETENLOG_DATABASE_URL": services.dsn,
        "KETENLOG_CHAIN_KEY": CHAIN_KEY,
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", "publish", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def write_file(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_one_invalid_line_rejects_the_file_and_skip_invalid_lands_the_rest(
    services: RunningServices, tmp_path: Path
) -> None:
    rows = [line(i) for i in range(1000)]
    rows[417]["data"] = {"reception_group": "TOURIST"}
    events = write_file(tmp_path / "coa.jsonl", rows)
    topic = event_topic("COA")
    before = end_offsets(services.kafka("auditor"), topic)

    rejected = run_publish(services, "--org", "COA", str(events))
    assert rejected.returncode == 1, rejected.stderr
    assert f"{events}:418: ReceptionStarted: data.reception_group: unknown enum symbol" in (
        rejected.stderr
    )
    assert end_offsets(services.kafka("auditor"), topic) == before, "nothing may be published"

    partial = run_publish(services, "--org", "COA", "--skip-invalid", str(events))
    assert partial.returncode == 3, partial.stderr
    assert "published 999 · rejected 1 · duplicates 0" in partial.stderr
    landed = read_from(services.kafka("auditor"), topic, before)
    assert len(landed) == 999
    refs = {decode(r.value or b"").record["envelope"]["source_ref"] for r in landed}
    assert "COA-OVK-417" not in refs and len(refs) == 999
    rejects = [
        json.loads(x) for x in (tmp_path / "coa.jsonl.rejects.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in rejects] == [418]
    assert rejects[0]["errors"][0]["field"] == "data.reception_group"


def test_records_are_keyed_by_person_and_no_v_nummer_reaches_any_topic(
    services: RunningServices, tmp_path: Path
) -> None:
    rows = [line(5000 + i) for i in range(50)]
    events = write_file(tmp_path / "coa.jsonl", rows)
    before = end_offsets(services.kafka("auditor"), event_topic("COA"))
    assert run_publish(services, "--org", "COA", str(events)).returncode == 0
    landed = read_from(services.kafka("auditor"), event_topic("COA"), before)
    keys = {r.key for r in landed}
    assert keys == {person_key(v_nummer(5000 + i), CHAIN_KEY.encode()).encode() for i in range(50)}

    digits = {v_nummer(i) for i in range(5050)}
    pattern = re.compile(rb"\d{4}\.?\d{3}\.?\d{3}")
    for spec in catalogue():
        for record in read_from(services.kafka("auditor"), spec.name):
            blobs = [record.key or b"", record.value or b""] + [v for _, v in record.headers]
            for blob in blobs:
                for match in pattern.findall(blob):
                    assert match.replace(b".", b"").decode() not in digits, (
                        f"a V-nummer on {spec.name}[{record.partition}]@{record.offset}"
                    )


@pytest.fixture
def own_broker(services: RunningServices, tmp_path: Path) -> Iterator[Settings]:
    """A second, private broker this test may stop and start (the session's must stay up)."""
    if not services.settings.starts_kafka:
        pytest.fail("this test starts its own local broker; it needs Java and Maven")
    broker_port, controller_port = free_ports(2)
    private = load_settings(
        {
            "KETENLOG_HOME": str(tmp_path / "home"),
            "KETENLOG_KAFKA_PORT": str(broker_port),
            "KETENLOG_KAFKA_CONTROLLER_PORT": str(controller_port),
            "KETENLOG_POSTGRES_PORT": str(services.settings.postgres_port),
            "KETENLOG_PARTITIONS": str(services.settings.partitions),
        }
    )
    # Reuse the session's jar cache instead of resolving the jars again.
    cache = kafka_broker.paths(services.settings).libs
    target = kafka_broker.paths(private).libs
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(cache, target_is_directory=True)
    kafka_broker.start(private, print)
    infra_services.prepare_kafka(private, print)
    try:
        yield private
    finally:
        kafka_broker.stop(private, print)


def test_stopped_broker_fails_in_bounded_time_and_a_resend_yields_the_same_ids(
    own_broker: Settings,
) -> None:
    preparer = Preparer(CHAIN_KEY.encode(), own_broker.oin_prefix)
    subs = [Submission.model_validate(line(9000 + i)) for i in range(3)]
    with Publisher("COA", preparer, own_broker.kafka("coa"), DeliverySettings(timeout_s=5)) as pub:
        kafka_broker.stop(own_broker, print)
        ids = [pub.publish(s) for s in subs]
        t0 = time.monotonic()
        with pytest.raises(PublishError) as caught:
            pub.flush()
        assert time.monotonic() - t0 < 20
    assert [f.event_id for f in caught.value.failures] == ids
    assert caught.value.receipts == []
    assert "not acknowledged" in str(caught.value)

    kafka_broker.start(own_broker, print)
    with Publisher("COA", preparer, own_broker.kafka("coa"), DeliverySettings(timeout_s=30)) as pub:
        again = [pub.publish(s) for s in subs]
        assert len(pub.flush()) == 3
    assert again == ids
    landed = read_from(own_broker.kafka("auditor"), event_topic("COA"))
    landed_ids = [str(decode(r.value or b"").record["envelope"]["event_id"]) for r in landed]
    assert sorted(set(landed_ids)) == sorted(ids)


def test_publish_command_with_the_broker_down_writes_the_unacked_lines(
    services: RunningServices, own_broker: Settings, tmp_path: Path
) -> None:
    kafka_broker.stop(own_broker, print)
    events = write_file(tmp_path / "coa.jsonl", [line(9100 + i) for i in range(5)])
    env = {**kafka_env(own_broker), "KETENLOG_PUBLISH_TIMEOUT": "4"}
    t0 = time.monotonic()
    failed = run_publish(services, "--org", "COA", str(events), extra_env=env)
    assert time.monotonic() - t0 < 60
    assert failed.returncode == 4, failed.stderr
    unacked = tmp_path / "coa.jsonl.unacked.jsonl"
    assert unacked.read_text() == events.read_text()

    kafka_broker.start(own_broker, print)
    resent = run_publish(
        services, "--org", "COA", str(unacked), extra_env=env | {"KETENLOG_PUBLISH_TIMEOUT": "30"}
    )
    assert resent.returncode == 0, resent.stderr
    assert len(read_from(own_broker.kafka("auditor"), event_topic("COA"))) == 5


def test_broker_killed_mid_publish_leaves_a_resend_file_that_completes_the_topic(
    services: RunningServices, own_broker: Settings, tmp_path: Path
) -> None:
    n = 40_000
    events = write_file(tmp_path / "big.jsonl", [line(30_000 + i) for i in range(n)])
    env = {
        "PATH": "/usr/bin:/bin",
        **kafka_env(own_broker),
        "KETENLOG_DATABASE_URL": services.dsn,
        "KETENLOG_CHAIN_KEY": CHAIN_KEY,
        "KETENLOG_PUBLISH_TIMEOUT": "5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ketenlog.cli", "publish", "--org", "COA", str(events)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    topic = event_topic("COA")
    deadline = time.monotonic() + 240
    while sum(end_offsets(own_broker.kafka("auditor"), topic).values()) == 0:
        assert proc.poll() is None, "publish ended before the broker could be killed"
        assert time.monotonic() < deadline, "nothing was published within 240 s"
        time.sleep(0.2)
    pid = kafka_broker.running_pid(own_broker)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 4, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "not acknowledged" in err and "published" in err
    unacked = tmp_path / "big.jsonl.unacked.jsonl"
    assert unacked.exists() and unacked.read_text()

    kafka_broker.start(own_broker, print)
    resent = run_publish(
        services,
        "--org",
        "COA",
        str(unacked),
        extra_env=kafka_env(own_broker),
    )
    assert resent.returncode == 0, resent.stderr[-3000:]
    landed = {
        str(decode(r.value or b"").record["envelope"]["event_id"])
        for r in read_from(own_broker.kafka("auditor"), topic)
    }
    wanted = {
        json.loads(row)["event_id"]
        for path in (
            tmp_path / "big.jsonl.receipts.jsonl",
            tmp_path / "big.jsonl.unacked.jsonl.receipts.jsonl",
        )
        for row in path.read_text().splitlines()
    }
    assert len(wanted) == n and landed == wanted, "every line published once the resend is done"
