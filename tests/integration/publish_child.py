"""Run by tests/integration/test_publish_streams.py in a process of its own, so its peak memory
is measured alone: `publish_file` (the code behind `ketenlog publish`) with a real Publisher,
on a topic of the test's own rather than an organisation's (every later test's processor
reads all of those).

    python -m tests.integration.publish_child TOPIC FILE
"""

from __future__ import annotations

import sys

from ketenlog import settings as settings_module
from producers.file_publish import Paths, _Quiet, publish_file
from producers.prepare import Preparer
from producers.publisher import Publisher
from schemas.topics import Org


def main(topic: str, file: str) -> int:
    settings = settings_module.load()
    preparer = Preparer(b"q" * 40, settings.oin_prefix)
    outcome = publish_file(
        Org.COA,
        file,
        Paths.beside(file),
        preparer,
        lambda: Publisher(Org.COA, preparer, settings.kafka("admin"), topic=topic),
        skip_invalid=False,
        say=lambda line: print(line, file=sys.stderr),
        progress=_Quiet,
    )
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
