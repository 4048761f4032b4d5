"""Several operator commands (``pos-hub`` or ``pos-edge``) run one after another in one
interpreter, each through its CLI's own ``main(argv)``.

A chaos cluster's set-up issues eight such commands; started one ``python -m`` each, importing
the application costs more CPU than the command itself. The commands, their arguments and
their checks are the operator's; only the interpreter is shared.

    python -m tests.chaos.clirun hub '[["create-tenant", ...], ["create-outlet", "--tenant", "{0}", ...]]'

An argument ``{N}`` is replaced by the last line step N printed (create-tenant prints the
tenant id, create-outlet the outlet id, ...). On success the last line on stdout is a JSON
list of every step's last line; a failing step stops the run with its output on stderr and
exit status 1.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable


def _main_of(cli: str) -> Callable[[list[str]], int]:
    if cli == "hub":
        from hub.cli import main as hub_main
        return hub_main
    if cli == "edge":
        from edge.cli import main as edge_main
        return edge_main
    raise SystemExit(f"unknown CLI {cli!r} (hub or edge)")


def run(cli: str, steps: list[list[str]]) -> list[str]:
    main = _main_of(cli)
    answers: list[str] = []
    for number, step in enumerate(steps):
        argv = [arg.format(*answers) if arg.startswith("{") else arg for arg in step]
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                code = main(argv)
        except SystemExit as exc:  # argparse refusing the arguments
            code = exc.code if isinstance(exc.code, int) else 1
        if code:
            sys.stderr.write(f"step {number} ({' '.join(argv[:3])}) failed ({code}):\n"
                             f"{out.getvalue()}\n")
            raise SystemExit(1)
        lines = out.getvalue().strip().splitlines()
        answers.append(lines[-1].strip() if lines else "")
    return answers


def main(argv: list[str]) -> int:
    """``argv``: the CLI (hub or edge) and its steps as one JSON list."""
    print(json.dumps(run(argv[0], json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
