"""The systemd units under packaging/systemd/ are valid for this machine's systemd.

``systemd-analyze verify`` parses each unit as systemd would load it (unknown keys, bad
values, a template that cannot be instantiated). The only complaint allowed is that the
installed commands under /opt/fnbpos do not exist on the test machine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "packaging" / "systemd"
ABSENT_INSTALL = "/opt/fnbpos/venv/bin/"


def _verify(folder: Path, name: str) -> list[str]:
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", f"./{name}"], cwd=folder,
                         capture_output=True, text=True, timeout=60, check=False)
    lines = (run.stdout + run.stderr).splitlines()
    return [line for line in lines if line.strip()
            and not (ABSENT_INSTALL in line and "is not executable" in line)]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_every_unit_verifies(tmp_path: Path) -> None:
    for unit in UNITS.iterdir():
        shutil.copy(unit, tmp_path / unit.name)
    names = [u.name for u in UNITS.iterdir() if "@." not in u.name]
    names.append("pos-hub@8001.service")  # the template, as `systemctl enable pos-hub@8001`
    assert len(names) >= 5
    problems = {name: found for name in names if (found := _verify(tmp_path, name))}
    assert problems == {}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_a_broken_unit_is_caught(tmp_path: Path) -> None:
    broken = (UNITS / "pos-edge.service").read_text().replace("[Service]",
                                                               "[Service]\nRestartt=always")
    (tmp_path / "pos-edge.service").write_text(broken)
    assert any("Restartt" in line for line in _verify(tmp_path, "pos-edge.service"))
