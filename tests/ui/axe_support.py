"""axe-core in the browser tests: run it on the screen a page shows, keep every violation
for the report, and say which ones fail a test.

axe-core comes from the PyPI package axe-playwright-python (it bundles axe.min.js; the
version is pinned in pyproject.toml's test extra), injected into the page through
Playwright, so nothing is copied into this repository and nothing is fetched at run time.
A test collects the violations of every state it drives a screen into (``Audit.check``)
and asserts at the end that none is serious or critical (``Audit.blocking``); all of them,
of any impact, are printed in the test summary and written to artifacts/accessibility/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.ui.browser_support import REPO

REPORTS = REPO / "artifacts" / "accessibility"
BLOCKING = ("serious", "critical")
# WCAG 2.x A and AA plus axe's best practices: what Lighthouse's accessibility audits draw on.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

_axe: Any = None
_SETTLED = """() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))
  .then(() => Promise.all(document.getAnimations()
    .filter(a => Number.isFinite(a.effect?.getComputedTiming().endTime))
    .map(a => a.finished.catch(() => null))))"""


def axe_version() -> str:
    return str(_engine().axe_script.split("axe v", 1)[1].split()[0])


def _engine() -> Any:
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe

        _axe = Axe()
    return _axe


@dataclass
class Violation:
    screen: str
    rule: str
    impact: str
    help: str
    targets: list[str]

    def line(self) -> str:
        more = f" (+{len(self.targets) - 3} more)" if len(self.targets) > 3 else ""
        return (f"{self.impact:<8} {self.screen}: {self.rule} — {self.help}: "
                f"{', '.join(self.targets[:3])}{more}")


@dataclass
class Audit:
    """The axe results of one app's screens, state by state."""

    app: str
    screens: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def check(self, page: Any, state: str) -> list[Violation]:
        """Run axe on what ``page`` shows now, as screen ``<app> <state>``."""
        # Let CSS transitions finish: a half-faded element has a contrast it never keeps. Two
        # frames for the styles to apply, then every animation with an end until it ends.
        page.evaluate(_SETTLED)
        screen = f"{self.app} {state}"
        # axe's script goes into a page once, not before every run (it is 0.5 MB of JS to
        # compile); a navigation or reload clears it and it goes in again.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(_engine().axe_script)
        options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
        response = page.evaluate("options => axe.run(document, options)", options)
        found = [Violation(screen, v["id"], v.get("impact") or "minor", v["help"],
                           [" ".join(map(str, n["target"])) for n in v["nodes"]])
                 for v in response["violations"]]
        self.screens.append(screen)
        self.violations.extend(found)
        return found

    @property
    def blocking(self) -> list[Violation]:
        return [v for v in self.violations if v.impact in BLOCKING]

    def report(self, record_property: Any) -> str:
        """Every violation, one line each: into the test summary and artifacts/accessibility/."""
        head = (f"axe {axe_version()} on {self.app}: {len(self.screens)} screens, "
                f"{len(self.violations)} violations ({len(self.blocking)} serious or critical)")
        lines = [head]
        lines += ["  " + v.line() for v in self.violations]
        record_property("ui_scores", "\n".join(lines))
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / f"{self.app.replace(' ', '-')}.json").write_text(json.dumps(
            {"axe": axe_version(), "screens": self.screens,
             "violations": [v.__dict__ for v in self.violations]}, indent=1, ensure_ascii=False))
        return "\n".join(lines)

    def assert_clean(self, record_property: Any) -> None:
        text = self.report(record_property)
        print(text)
        assert not self.blocking, f"serious or critical accessibility violations:\n{text}"
