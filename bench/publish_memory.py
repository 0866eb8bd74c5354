"""Benchmark: peak memory of `publish_file` (the code behind `ketenlog publish`) against the size
of the file, for the streamed implementation and, in the same run, the whole-file one it
replaced (commit 11a296b, read from git), plus the fixed cost of a process that imports the same
code and publishes one event. Each case runs in a child process, measured by `os.wait4`
(ru_maxrss: peak resident memory); files are generated, one ReceptionStarted per line.

    .venv/bin/python bench/publish_memory.py [--lines 20000,80000] [--baseline-commit 11a296b]

Publishes to the topic `bench.publish-memory` of the local services (started through infra/
unless the settings name existing ones). Writes bench/results/publish_memory.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra import services, topics  # noqa: E402
from ketenlog import settings as settings_module  # noqa: E402
from producers.prepare import Preparer  # noqa: E402
from producers.publisher import Publisher  # noqa: E402
from producers.submission import Submission  # noqa: E402
from schemas.topics import RETAIN_FOREVER, Org, TopicSpec  # noqa: E402

TOPIC = "bench.publish-memory"
RESULTS = ROOT / "bench" / "results" / "publish_memory.md"
CHAIN_KEY = b"m" * 32
START = datetime(2026, 1, 1, tzinfo=UTC)


def write_file(path: Path, n: int, run: str) -> int:
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            row = {
                "type": "ReceptionStarted",
                "v_nummer": f"{3_000_000_000 + i:010d}",
                "occurred_at": (START + timedelta(seconds=i)).isoformat(),
                "ref": f"COA-MEM-{run}-{i}",
                "case_id": f"Z-{run}-{i}",
                "data": {"reception_group": "ASYLUM_SEEKER"},
            }
            out.write(json.dumps(row) + "\n")
    return path.stat().st_size


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("file_publish_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def child(implementation: str, file: str) -> int:
    """In the measured process: publish `file` with the implementation at that path, or
    (`fixed`) publish one event with the same imports."""
    settings = settings_module.load()
    preparer = Preparer(CHAIN_KEY, settings.oin_prefix)

    def open_publisher() -> Publisher:
        return Publisher(Org.COA, preparer, settings.kafka("admin"), topic=TOPIC)

    if implementation == "fixed":
        load(ROOT / "producers" / "file_publish.py")
        with open(file, encoding="utf-8") as stream:
            line = stream.readline()
        with open_publisher() as pub:
            pub.publish(Submission.model_validate_json(line))
            pub.flush()
        return 0
    module = load(Path(implementation))
    base = Path(file)
    paths = module.Paths.beside(file, receipts=base.with_suffix(".receipts"))
    outcome = module.publish_file(
        Org.COA,
        file,
        paths,
        preparer,
        open_publisher,
        skip_invalid=False,
        say=lambda _line: None,
        progress=module._Quiet,
    )
    return int(outcome.exit_code)


def measure(implementation: str, file: Path) -> tuple[float, float]:
    """(peak resident MiB, seconds) of one child process."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", implementation, str(file)], cwd=ROOT
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{implementation} on {file} exited {proc.returncode}")
    return usage.ru_maxrss / 1024, time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="20000,80000")
    parser.add_argument("--baseline-commit", default="11a296b")
    parser.add_argument("--child", nargs=2, metavar=("IMPLEMENTATION", "FILE"))
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    settings = settings_module.load()

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    services.up(settings, say)
    topics.ensure(settings, say, [TopicSpec(TOPIC, "benchmark", dict(RETAIN_FOREVER))])
    sizes = [int(x) for x in args.lines.split(",")]
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "file_publish_whole.py"
        whole.write_bytes(
            subprocess.run(
                ["git", "show", f"{args.baseline_commit}:producers/file_publish.py"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            ).stdout
        )
        streamed = str(ROOT / "producers" / "file_publish.py")
        run = datetime.now(UTC).strftime("%H%M%S")
        files = {n: Path(tmp) / f"coa-{n}.jsonl" for n in sizes}
        megabytes = {n: write_file(files[n], n, f"{run}-{n}") / 2**20 for n in sizes}
        fixed, _ = measure("fixed", files[sizes[0]])
        say(f"fixed cost (imports + one event): {fixed:,.0f} MiB")
        for n in sizes:
            # Each implementation gets the file fresh from the same generator (new refs each).
            peaks = {}
            for name, impl in (("streamed", streamed), ("whole-file", str(whole))):
                write_file(files[n], n, f"{run}-{n}-{name}")
                peak, seconds = measure(impl, files[n])
                peaks[name] = (peak, seconds)
                say(
                    f"{name}: {n:,} lines ({megabytes[n]:.1f} MiB): "
                    f"{peak:,.0f} MiB, {seconds:.1f} s"
                )
            rows.append(
                f"| {n:,} | {megabytes[n]:.1f} | {peaks['streamed'][0]:,.0f} "
                f"({peaks['streamed'][0] - fixed:+,.0f}) | {peaks['streamed'][1]:.1f} | "
                f"{peaks['whole-file'][0]:,.0f} ({peaks['whole-file'][0] - fixed:+,.0f}) | "
                f"{peaks['whole-file'][1]:.1f} |"
            )
    lines = [
        "# Publish memory",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python "
        f"{platform.python_version()}, Kafka {settings.kafka_version} (local, single node), "
        f"topic `{TOPIC}`, {settings.partitions} partitions. Peak resident memory (ru_maxrss) "
        "of one process per case; in brackets: above the fixed cost of a process with the same "
        f"imports that publishes one event ({fixed:,.0f} MiB). Whole-file: `publish_file` at "
        f"commit {args.baseline_commit}; streamed: the working tree's. Both check every line "
        "first (no --skip-invalid); the streamed one reads the file twice.",
        "",
        "| lines | file MiB | streamed peak MiB | streamed s | whole-file peak MiB "
        "| whole-file s |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    say(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
