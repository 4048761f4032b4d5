"""Comments and indentation out of JavaScript and CSS at serve time, every line kept.

The browser apps have no build step, and their comments are a fifth of what they send
(compressed). ``strip_js`` and ``strip_css`` drop comments, indentation, trailing blanks and
runs of spaces, and nothing else: every newline stays, so a line number in a browser's stack
trace is the line in the source file, and automatic semicolon insertion sees what it saw.
Strings, template literals (nested ``${…}`` too) and regular expression literals are copied
as they are. A source the scanner cannot follow to its end (an unterminated string, template
or comment) is returned unchanged.
"""

from __future__ import annotations

import re

__all__ = ["strip_css", "strip_js"]

_JS = re.compile(r"""
    (?P<ws>[^\S\n]+)
  | (?P<nl>\n)
  | (?P<line>//[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<tick>`)
  | (?P<word>[\w$\u0080-\uffff]+)
  | (?P<open>[{])
  | (?P<close>[}])
  | (?P<slash>/)
  | (?P<punct>.)
""", re.VERBOSE | re.DOTALL)
# The rest of a template literal's text, up to its end or to the next ``${``.
_TEMPLATE = re.compile(r"(?:[^`\\$]|\\.|\$(?!\{))*(`|\$\{)", re.DOTALL)
_REGEX = re.compile(r"/(?:[^/\\\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[A-Za-z]*")
# After these words a "/" starts a regular expression, after any other word it divides.
_BEFORE_REGEX = frozenset({"return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
                           "throw", "case", "do", "else", "yield", "await"})


def strip_js(source: str) -> str:
    """``source`` without comments and indentation; lines, strings and regexes untouched."""
    out: list[str] = []
    braces: list[bool] = []  # one per open "{": True when it opened a template's "${"
    last = ""  # the previous significant token: decides whether "/" is a regex or a division
    at = 0
    pending_space = False
    while at < len(source):
        match = _JS.match(source, at)
        assert match is not None  # "." with DOTALL matches any character
        kind, text = match.lastgroup, match.group()
        at = match.end()
        if kind in ("ws", "block", "line"):
            newlines = text.count("\n") if kind == "block" else 0
            if newlines:
                out.append("\n" * newlines)
                pending_space = False
            else:
                pending_space = True
            continue
        if kind == "nl":
            out.append("\n")
            pending_space = False
            continue
        if pending_space and out and not out[-1].endswith("\n"):
            out.append(" ")
        pending_space = False
        if kind == "tick" or (kind == "close" and braces and braces[-1]):
            if kind == "close":
                braces.pop()
            rest = _TEMPLATE.match(source, at)
            if rest is None:
                return source
            out.append(text + rest.group())
            at = rest.end()
            if rest.group(1) == "${":
                braces.append(True)
                last = "{"
            else:
                last = "`"
            continue
        if kind == "open":
            braces.append(False)
        elif kind == "close" and braces:
            braces.pop()
        elif kind == "slash" and _regex_may_follow(last):
            literal = _REGEX.match(source, at - 1)
            if literal is not None:
                text = literal.group()
                at = literal.end()
                kind = "regex"
        out.append(text)
        last = text if kind in ("word", "punct", "open", "close", "slash") else kind
    if braces:
        return source  # an unclosed "${": not followed to its end
    return "".join(out)


def _regex_may_follow(last: str) -> bool:
    if last in ("", "{"):
        return True
    if last in (")", "]", "}", "`", "str", "regex"):
        return False
    if last[0].isalnum() or last[0] in "_$" or ord(last[0]) > 0x7F:
        return last in _BEFORE_REGEX
    return True  # an operator or punctuation


_CSS = re.compile(r"""
    (?P<ws>[^\S\n]+)
  | (?P<nl>\n)
  | (?P<block>/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<other>[^\s"'/]+|.)
""", re.VERBOSE | re.DOTALL)


def strip_css(source: str) -> str:
    """``source`` without comments and indentation; lines and strings untouched."""
    if source.count("/*") != len(re.findall(r"/\*.*?\*/", source, re.DOTALL)):
        return source  # an unterminated comment (or one inside a string): leave it all
    out: list[str] = []
    pending_space = False
    for match in _CSS.finditer(source):
        kind, text = match.lastgroup, match.group()
        if kind in ("ws", "block"):
            newlines = text.count("\n") if kind == "block" else 0
            if newlines:
                out.append("\n" * newlines)
                pending_space = False
            else:
                pending_space = True
            continue
        if kind == "nl":
            out.append("\n")
            pending_space = False
            continue
        if pending_space and out and not out[-1].endswith("\n"):
            out.append(" ")
        pending_space = False
        out.append(text)
    return "".join(out)
