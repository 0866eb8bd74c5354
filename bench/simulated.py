"""The benchmarks' simulated data: `ketenlog simulate --publish` into the running services,
with the settings' chain key or, where none is set, the demo's own key (as `ketenlog demo`
uses, and says so): the data is simulated, and a fresh clone has no key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from producers.pseudonym import demo_chain_key


def publish(settings: Any, say: Callable[[str], None], *simulate_args: str) -> None:
    """Publish a simulated period (`simulate_args`: --seed, --scale, --from, --to ...)."""
    env = dict(os.environ)
    if not (settings.chain_key or settings.chain_key_file):
        path = settings.home / "demo-chain.key"
        demo_chain_key(path)
        say(f"no chain key set; the simulated data is published with the demo key {path}")
        env["KETENLOG_CHAIN_KEY_FILE"] = str(path)
    subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", "simulate", *simulate_args, "--publish"],
        check=True,
        env=env,
    )
