"""`python -m schemas.release`: add new schema versions to the released-versions lock after checking
that released ones are untouched and that every type stays fully transitively compatible.
Never rewrites an entry already in the lock. `--check` only reports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import avro.errors

from schemas.compat import check_versions, parse
from schemas.lock import (
    LOCK_PATH,
    ReleasedVersion,
    lock_problems,
    read_lock,
    released_entry,
    unreleased,
    write_lock,
)
from schemas.registry import Registry


def release_problems(registry: Registry, released: Sequence[ReleasedVersion]) -> list[str]:
    """Why the unreleased versions in `registry` may not be added to the lock; empty when they
    may."""
    problems = lock_problems(registry, released)
    for sv in unreleased(registry, released):
        try:
            parse(sv.schema)  # the reference parser: catches e.g. a named type used undefined
        except avro.errors.AvroException as exc:
            problems.append(f"{sv.path}: not a valid Avro schema: {exc}")
            continue
        problems.extend(str(p) for p in check_versions(registry.versions(sv.event_type)))
    return list(dict.fromkeys(problems))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.release", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report only; do not write the lock")
    args = parser.parse_args(argv)

    registry = Registry.load()
    released = read_lock(LOCK_PATH)
    problems = release_problems(registry, released)
    new = unreleased(registry, released)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    if not new:
        print("nothing to release: every schema version is in the lock")
        return 0
    for sv in new:
        print(
            f"{'would release' if args.check else 'released'} {sv.event_type} v{sv.version} "
            f"({sv.path}, fingerprint {sv.fingerprint:016x})"
        )
    if not args.check:
        write_lock([*released, *(released_entry(sv) for sv in new)], LOCK_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
