"""The timeline processor's catch-up at batch speed (`ketenlog process`, before its faust worker
starts): a processor far behind the log — a restart after a long stop, a new deployment on an
old log, a fresh database — rebuilds every projection with the replay's batch path
(ketenlog.rebuild: the same gate, de-duplication and fold, in one worker process per core),
sends the timeline records and dead letters the live path had not sent yet, brings the rebuilt
tables to whatever live workers did meanwhile and swaps them in; the live worker then
continues from the swapped-in positions. No gap: the rebuild covers every record below the
log's end at the start, the live worker everything from there. No double count: the tables
are rebuilt from the log, not added to; a timeline record both sent may repeat (same `ce_id`),
as after a crash of the live path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from ketenlog.rebuild import Rebuilt, Sends
from ketenlog.replay import (
    KafkaSource,
    ReplayError,
    catch_up_and_swap,
    open_database,
    rebuild_into,
)
from ketenlog.settings import Settings
from ketenlog.signing import registry
from processors.ports import TopicPartition
from projections import replay_store
from projections.db import LIVE, connect
from schemas.access import PROCESSOR

# The batch path refolds the whole log; the live path only the backlog, but 3-4x slower per
# record (bench/results/process_throughput.md: 7,686 against 2,530 records/s on 92,846
# records; 10,429/s for a national year). So the batch path is quicker once the backlog is
# more than about a quarter to a third of the log.
BATCH_SPEEDUP = 4
Say = Callable[[str], None]


@dataclass(frozen=True)
class Backlog:
    behind: int
    total: int

    def worth_a_batch(self, least: int) -> bool:
        """Whether the batch path is quicker: at least `least` records behind, and the
        backlog more than 1/BATCH_SPEEDUP of the log."""
        return self.behind >= least and self.behind * BATCH_SPEEDUP >= self.total


def backlog(positions: dict[TopicPartition, int], ends: dict[TopicPartition, int]) -> Backlog:
    return Backlog(
        behind=sum(max(0, end - positions.get(tp, 0)) for tp, end in ends.items()),
        total=sum(ends.values()),
    )


def catch_up(
    settings: Settings,
    group: str,
    ends: dict[TopicPartition, int],
    say: Say,
    *,
    least: int,
    workers: int | None = None,
) -> Rebuilt | None:
    """Catch the group up to `ends` at batch speed when that is quicker than the live path;
    None when it was not (or another replay or catch-up holds the database: the live worker
    then does the work)."""
    with connect(settings.dsn) as conn:
        positions = replay_store.positions(conn, LIVE, group)
    found = backlog(positions, ends)
    if not found.worth_a_batch(least):
        return None
    try:
        conn = open_database(settings)
    except ReplayError as exc:
        say(f"process: {exc}; processing the backlog live")
        return None
    with conn:
        say(
            f"process: {found.behind:,} of {found.total:,} records behind: catching up at batch "
            "speed (the replay's path), then live"
        )
        try:
            built = rebuild_into(
                settings,
                KafkaSource(settings.kafka(PROCESSOR)),
                ends,
                group=group,
                workers=workers,
                say=say,
                label="process: catch-up",
                signing_keys=registry(settings),
                sends=Sends(settings.kafka(PROCESSOR), tuple(sorted(positions.items()))),
            )
            catch_up_and_swap(conn, settings, group, say, reader=PROCESSOR, label="process")
        except ReplayError as exc:
            raise CatchUpError(str(exc)) from exc
        except psycopg.Error as exc:
            raise CatchUpError(
                f"process: catch-up: {exc}; the live projections are unchanged"
            ) from exc
    say("process: caught up; the rebuilt projections are live")
    return built


class CatchUpError(RuntimeError):
    """The catch-up failed; the live projections are as they were."""
