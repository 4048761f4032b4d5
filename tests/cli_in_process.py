"""Run a command's ``main(argv)`` in this process the way ``subprocess.run`` runs the command.

Each of our command-line tools (``hub.cli``, ``edge.cli``, ``edge.payments``) is a thin
transport over ``main(argv) -> int``: it parses, calls a service, prints, returns the exit
code. Starting Python for it costs far more than the work (about 0.7 s of CPU for pos-hub's
imports, 0.3 s for pos-edge's), so tests that run a command many times to check its messages
and exit codes call ``main`` here: with the environment the process would get, a stdin that
is not a terminal, and stdout, stderr and the exit code returned as a ``CompletedProcess``.
Tests about the process itself (start-up, signals, the console scripts) still start one.

An unexpected exception is raised, not printed: the test fails with its traceback, where the
process would have printed one to stderr and exited 1.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

__all__ = ["environment", "pos_edge", "pos_hub", "run_main"]


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is exactly ``env`` inside the block, and what it was after it."""
    saved = dict(os.environ)
    _become(env)
    try:
        yield
    finally:
        _become(saved)


def _become(env: Mapping[str, str]) -> None:
    # Key by key, never cleared as a whole: another thread of the test process (a proxy, a
    # server's fixture) never sees a variable both environments have go missing.
    for name in [name for name in os.environ if name not in env]:
        del os.environ[name]
    for name, value in env.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def run_main(main: Callable[[list[str]], int | None], args: Sequence[str], *,
             env: Mapping[str, str], cwd: Path | str | None = None
             ) -> subprocess.CompletedProcess[str]:
    """``main(args)`` with ``env`` as the whole environment (and ``cwd`` as the working
    folder): its exit code and what it printed, as ``subprocess.run(..., text=True)`` gives."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(environment(env))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        stack.enter_context(_stdin(io.StringIO("")))  # no terminal to ask a password on
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        try:
            code = main(list(args)) or 0
        except SystemExit as exc:  # argparse's usage errors, --version, sys.exit("message")
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(list(args), int(code), out.getvalue(), err.getvalue())


def pos_hub(*args: str, db_url: str, env: Mapping[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """``pos-hub <args> --db <db_url>`` in this process, with the environment
    tests/hub/conftest.py's ``run_cli`` gives the process (the test JWT secret and ``env``)."""
    from hub import cli
    from tests.hub.conftest import JWT_SECRET

    return run_main(cli.main, [*args, "--db", db_url],
                    env={**os.environ, "POS_HUB_JWT_SECRET": JWT_SECRET, **(env or {})})


def pos_edge(*args: str, env: Mapping[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """``pos-edge <args>`` in this process, with this environment plus ``env``."""
    from edge import cli

    return run_main(cli.main, args, env={**os.environ, **(env or {})})


@contextlib.contextmanager
def _stdin(replacement: io.StringIO) -> Iterator[None]:
    saved, sys.stdin = sys.stdin, replacement
    try:
        yield
    finally:
        sys.stdin = saved
