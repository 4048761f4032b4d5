"""Rewrite tests/durations.json from a pytest ``--durations=0`` log.

    ./dev test --durations=0 | tee /tmp/run.log
    .venv/bin/python tests/timings.py /tmp/run.log        # writes tests/durations.json
    .venv/bin/python tests/timings.py /tmp/run.log --top 25   # also prints the slowest files

Each file's figure is the sum of its tests' setup, call and teardown seconds: what the one
xdist worker that runs the file spends on it. tests/conftest.py orders files by it.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\s*([0-9.]+)s (setup|call|teardown)\s+(\S+?)(?:::\S*)?\s*$")
OUT = Path(__file__).with_name("durations.json")


def file_seconds(log: str) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for line in log.splitlines():
        match = LINE.match(line)
        if match:
            totals[match.group(3).split("::")[0]] += float(match.group(1))
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--top", type=int, default=0, help="print the N slowest files")
    args = parser.parse_args()
    totals = file_seconds(args.log.read_text(errors="replace"))
    ranked = dict(sorted(((k, round(v, 1)) for k, v in totals.items()), key=lambda kv: -kv[1]))
    OUT.write_text(json.dumps(ranked, indent=1) + "\n")
    print(f"{len(ranked)} files, {sum(ranked.values()):.0f} s in all -> {OUT}")
    for name, seconds in list(ranked.items())[:args.top]:
        print(f"{seconds:8.1f}  {name}")


if __name__ == "__main__":
    main()
