"""Lighthouse for the browser tests: installed from npm into a cache folder, run by Node.

The version is pinned by tests/ui/lighthouse/package.json and its package-lock.json (12.2.3,
the last Lighthouse that runs on Node 20); ``npm ci`` installs exactly that tree into
``~/.cache/fnbpos/lighthouse-<hash of the lock>/`` (``$XDG_CACHE_HOME`` if set), never into
the repository. ``./dev test`` installs it before the run (``python -m
tests.ui.lighthouse_support``); the test installs it too when it is missing, and skips, saying
why, where Node or npm is not there or the install fails. tests/ui/lighthouse/run.mjs drives
Lighthouse in Debian's Chromium and writes a summary per URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.ui.browser_support import CHROMIUM, REPO

SOURCE = REPO / "tests" / "ui" / "lighthouse"
MIN_NODE = 18  # Lighthouse 12.2 wants Node >= 18.16; 20 is what the machines have


def install_dir() -> Path:
    lock = (SOURCE / "package-lock.json").read_bytes() + (SOURCE / "package.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "fnbpos" / f"lighthouse-{hashlib.sha256(lock).hexdigest()[:12]}"


def installed() -> bool:
    return (install_dir() / "node_modules" / "lighthouse" / "package.json").exists()


def missing_tools() -> str | None:
    """Why Lighthouse cannot be installed or run here, or None."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "Node.js and npm are not installed (Debian: apt-get install nodejs npm)"
    version = subprocess.run(["node", "--version"], check=False, capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < MIN_NODE:
        return f"Lighthouse 12 needs Node {MIN_NODE} or newer; node is {version}"
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed"
    return None


def install(timeout: float = 300) -> str | None:
    """Install the pinned Lighthouse if it is not there; return why not, or None when ready."""
    if installed():
        return None
    if reason := missing_tools():
        return reason
    target = install_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    # npm ci into a fresh folder, renamed into place when complete: a run killed midway or a
    # second worker installing at the same time never leaves a half-installed cache behind.
    work = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(SOURCE / name, work / name)
        done = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                               "--loglevel=error"], check=False, cwd=work, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            return f"npm ci of Lighthouse failed ({done.returncode}): {done.stderr.strip()[-500:]}"
        try:
            work.rename(target)
        except OSError:
            if not installed():  # not a concurrent install that got there first
                raise
        return None
    except subprocess.TimeoutExpired:
        return f"npm ci of Lighthouse took more than {timeout:.0f} s"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(urls: list[str], preset: str = "mobile", timeout: float = 300) -> list[dict[str, Any]]:
    """Lighthouse's summary of each URL (see run.mjs), in one Chromium, one after the other."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "summary.json"
        done = subprocess.run(["node", str(SOURCE / "run.mjs"), str(install_dir()), str(out),
                               CHROMIUM, preset, *urls], check=False, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0 or not out.exists():
            raise AssertionError(f"Lighthouse failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return list(json.loads(out.read_text()))


if __name__ == "__main__":
    # ./dev test: install before the run, never fail it (the test says why it skipped).
    reason = install()
    print(f"Lighthouse for the browser tests: {reason or f'ready in {install_dir()}'}",
          file=sys.stderr)
