"""What `pos-edge doctor` and `pos-hub doctor` share: a finding and how findings are printed.

Each check gives one ``Finding`` (ok, warn, fail or skip, with what to do for warn/fail);
``report`` prints one line per check with the fix below it, or JSON, and returns the exit
code: 1 when any check failed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

__all__ = ["Finding", "report"]

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}


@dataclass
class Finding:
    check: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""


def report(findings: list[Finding], as_json: bool) -> int:
    """Print the findings; return the exit code (1 if any check failed)."""
    failed = sum(f.status == "fail" for f in findings)
    if as_json:
        print(json.dumps({"ok": not failed, "findings": [asdict(f) for f in findings]}))
        return 1 if failed else 0
    width = max(len(f.check) for f in findings)
    for f in findings:
        print(f"{_MARK.get(f.status, f.status)}  {f.check.ljust(width)}  {f.detail}")
        if f.fix and f.status in ("warn", "fail"):
            print(f"{'':6}{'':{width}}  -> {f.fix}")
    warned = sum(f.status == "warn" for f in findings)
    print("\nall is well" if not failed and not warned
          else f"\n{failed} fault(s), {warned} warning(s)")
    return 1 if failed else 0
