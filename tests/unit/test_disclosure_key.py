"""The server's disclosure key and the disclosure settings (ketenlog.disclosure_key)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ketenlog import settings
from ketenlog.disclosure_key import disclosure, read_or_make


def test_the_key_is_made_owner_only_on_first_use_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "disclosure.key"
    first = read_or_make(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_make(path) == first
    assert read_or_make(tmp_path / "other.key") != first


def test_a_short_key_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "disclosure.key"
    path.write_text("too short")
    with pytest.raises(SystemExit, match=r"disclosure\.key"):
        read_or_make(path)


def test_the_settings_make_the_rule(tmp_path: Path) -> None:
    env = {
        "KETENLOG_HOME": str(tmp_path),
        "KETENLOG_DISCLOSURE_NOISE": "0",
        "KETENLOG_DISCLOSURE_STATISTIC_MIN": "20",
    }
    rule = disclosure(settings.load(env))
    assert (rule.minimum, rule.rounding, rule.noise, rule.statistic_minimum) == (5, 5, 0, 20)
    assert rule.secret == (tmp_path / "keys" / "disclosure.key").read_bytes().strip()
    defaults = settings.load({"KETENLOG_HOME": str(tmp_path)})
    assert (defaults.disclosure_noise, defaults.disclosure_statistic_min) == (2, 10)
    with pytest.raises(SystemExit, match="KETENLOG_DISCLOSURE_NOISE"):
        settings.load({**env, "KETENLOG_DISCLOSURE_NOISE": "-1"})
    with pytest.raises(SystemExit, match="KETENLOG_DISCLOSURE_STATISTIC_MIN"):
        settings.load({**env, "KETENLOG_DISCLOSURE_STATISTIC_MIN": "0"})
