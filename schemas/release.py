"""`python -m schemas.release`: add new schema versions to the released-versions lock after checking
that released ones are untouched and that every type stays fully transitively compatible.
Never rewrites an entry already in the lock. `--check` only reports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from schemas.compat import check_versions
from schemas.lock import LOCK_PATH, lock_problems, read_lock, released_entry, unreleased, write_lock
from schemas.registry import Registry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.release", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report only; do not write the lock")
    args = parser.parse_args(argv)

    registry = Registry.load()
    released = read_lock(LOCK_PATH)
    problems = lock_problems(registry, released)
    new = unreleased(registry, released)
    for sv in new:
        problems.extend(str(p) for p in check_versions(registry.versions(sv.event_type)))
    if problems:
        for problem in dict.fromkeys(problems):
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
