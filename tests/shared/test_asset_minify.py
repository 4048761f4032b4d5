"""shared.asset_minify: comments and indentation go, code, strings, templates, regexes and
every line stay; every JS file of the apps still parses once stripped (with Node, when the
machine has it), and the browser tests load the stripped files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shared.asset_minify import strip_css, strip_js

REPO = Path(__file__).resolve().parents[2]
APP_JS = sorted([*(REPO / "kiosk-ui").rglob("*.js"), *(REPO / "hub/dashboard").rglob("*.js")])


@pytest.mark.parametrize(("source", "expected"), [
    ("  const a = 1; // one\n", "const a = 1;\n"),
    ("/** doc\n * more\n */\nexport function f() {}\n", "\n\n\nexport function f() {}\n"),
    ('const u = "http://x/*y*/"; // c\n', 'const u = "http://x/*y*/";\n'),
    ("const s = 'a // b';\n", "const s = 'a // b';\n"),
    ("const t = `  keep //${a /* c */ + `in ${b} // no` }  /* kept */`;\n",
     "const t = `  keep //${a + `in ${b} // no` }  /* kept */`;\n"),
    ("const t = `line one\n    // still text\n`;\n", "const t = `line one\n    // still text\n`;\n"),
    ("if (/\\/\\*[\"']/.test(x)) y = a / b / c; // d\n",
     "if (/\\/\\*[\"']/.test(x)) y = a / b / c;\n"),
    ("x = s.replace(/[/*]+/g, '') /* c */;\n", "x = s.replace(/[/*]+/g, '') ;\n"),
    ("return /a\\/b/.test(s);\n", "return /a\\/b/.test(s);\n"),
    ("a = b\n/ 2 // half\n", "a = b\n/ 2\n"),
    ("x = a/**/b;\n", "x = a b;\n"),
    ("let   spaced    =  1 ;   \n\t\tnext();\n", "let spaced = 1 ;\nnext();\n"),
])
def test_strip_js_cases(source: str, expected: str) -> None:
    assert strip_js(source) == expected


@pytest.mark.parametrize("source", ["const s = `open ${a", "x = '\\", "y = `never closed"])
def test_strip_js_leaves_what_it_cannot_follow(source: str) -> None:
    assert strip_js(source) == source


def test_strip_css() -> None:
    css = '/* head */\n.a {\n  content: "/* not */";\n  color: red; /* why */\n}\n'
    assert strip_css(css) == '\n.a {\ncontent: "/* not */";\ncolor: red;\n}\n'
    assert strip_css("a { b: c } /* open") == "a { b: c } /* open"


def test_every_app_file_keeps_its_lines_and_parses() -> None:
    node = shutil.which("node")
    assert len(APP_JS) > 30
    for path in APP_JS:
        source = path.read_text()
        stripped = strip_js(source)
        assert stripped.count("\n") == source.count("\n"), path
        assert strip_js(stripped) == stripped, path
        assert len(stripped) < len(source), path
        if node:
            check = subprocess.run([node, "--input-type=module", "--check"], input=stripped,
                                   capture_output=True, text=True, timeout=30)
            assert check.returncode == 0, (path, check.stderr)
