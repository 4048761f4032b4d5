"""What a brute force of staff PINs costs with what a stolen box (or a sync credential) holds.

Times one PIN verifier (shared.pins.derive at PIN_KDF, what the edge stores and the hub sends)
and, for comparison, one guess against the scheme before security issue H2 (HMAC-SHA256
under a pepper that came with the data). Prints JSON lines: the per-guess costs, then for 4,
6 and 8 digit PINs the time to try every PIN of that length on one core of this machine (the
expected time to hit one given PIN is half). The staff of one outlet share its salt, so one
search covers all of them at once; every other outlet (its own salt) is a new search. Used by
docs/security.md. Measure on a quiet machine: other load inflates the figures.

    .venv/bin/python tests/bench/bench_pin_bruteforce.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared import pins


def _per_guess_argon2(rounds: int) -> float:
    salt = secrets.token_hex(16)
    times = []
    for n in range(rounds):
        started = time.perf_counter()
        pins.derive(f"{n:06d}", salt, pins.PIN_KDF)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _per_guess_hmac(guesses: int = 200_000) -> float:
    key = secrets.token_bytes(32)
    started = time.perf_counter()
    for n in range(guesses):
        hmac.new(key, b"%08d" % n, hashlib.sha256).digest()
    return (time.perf_counter() - started) / guesses


def _human(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="argon2 derivations timed (median)")
    args = parser.parse_args()
    argon2_s = _per_guess_argon2(args.rounds)
    hmac_s = _per_guess_hmac()
    print(json.dumps({"bench": "pin_guess", "kdf": pins.PIN_KDF.encode(),
                      "argon2id_seconds_per_guess": round(argon2_s, 4),
                      "old_hmac_seconds_per_guess": round(hmac_s, 9),
                      "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}))
    for digits in (4, 6, 8):
        space = 10 ** digits
        print(json.dumps({"bench": "pin_space", "digits": digits, "pins": space,
                          "argon2id_one_core_seconds": round(space * argon2_s, 1),
                          "argon2id_one_core": _human(space * argon2_s),
                          "old_hmac_one_core_seconds": round(space * hmac_s, 3)}))


if __name__ == "__main__":
    main()
