"""Security H2 at the box: what a stolen edge (its database and edge.toml) yields about PINs.

Before the fix a local staff row held HMAC(box pepper, PIN) and the pepper sat in edge.toml:
with both, every PIN fell to a brute force of the 4-8 digit space in well under a second.
Now a row holds only argon2id(PIN) under the box's salt (64 MiB per guess); the pepper finds
nothing. Managers need 6+ digits, at the CLI too.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from collections.abc import Callable
from pathlib import Path

from edge.db import connect
from shared import pins
from tests.edge.edge_server import DEMO_PINS, EdgeServer, run_cli


def _rows(data_dir: Path) -> tuple[list[tuple[str, str, str]], str, str]:
    conn = connect(data_dir / "edge.db")
    try:
        rows = [(r["name"], r["pin_hash"], r["pin_lookup"])
                for r in conn.execute("SELECT name, pin_hash, pin_lookup FROM staff")]
        salt, kdf = conn.execute("SELECT salt, kdf FROM pin_kdf WHERE source = 'local'").fetchone()
    finally:
        conn.close()
    return rows, salt, kdf


def test_a_stolen_box_and_its_config_give_no_fast_pin_test(edge_server_factory: Callable[..., EdgeServer]
                                                           ) -> None:
    edge = edge_server_factory(start=False, pair=False)
    pepper = tomllib.loads((edge.data_dir / "edge.toml").read_text())["edge"]["pin_pepper"]
    rows, salt, kdf = _rows(edge.data_dir)
    assert pins.parse_kdf(kdf).memory_kib >= 64 * 1024
    by_name = {name: (pin_hash, lookup) for name, pin_hash, lookup in rows}
    for (name, pin) in (("Sari", DEMO_PINS["cashier"]), ("Dewi", DEMO_PINS["manager"])):
        pin_hash, lookup = by_name[name]
        assert pin_hash == ""
        assert lookup != hmac.new(pepper.encode(), pin.encode(), hashlib.sha256).hexdigest()
        assert lookup == pins.derive(pin, salt, pins.parse_kdf(kdf))
    # another box's salt: the same PIN has another verifier there
    other = edge_server_factory(start=False, pair=False, name="other")
    other_rows, other_salt, _ = _rows(other.data_dir)
    assert other_salt != salt
    assert {r[2] for r in other_rows}.isdisjoint({r[2] for r in rows})


def test_a_local_manager_pin_has_six_digits(edge_server_factory: Callable[..., EdgeServer]) -> None:
    edge = edge_server_factory(start=False, demo=False, pair=False)
    short = run_cli("staff", "add", "--data-dir", str(edge.data_dir), "--name", "Boss",
                    "--role", "manager", "--pin", "2468", check=False)
    assert short.returncode == 2 and "6 digits" in short.stderr
    made = run_cli("staff", "add", "--data-dir", str(edge.data_dir), "--name", "Boss",
                   "--role", "manager", "--pin", "246813", check=False)
    assert made.returncode == 0, made.stderr
    edge.start()
    device = edge.pair("cashier", "Till")
    assert edge.call("GET", "/api/v1/me", edge.login_pin("246813", device))["staff"]["role"] == "manager"


def test_parallel_pin_checks_hold_bounded_memory() -> None:
    """Each derivation holds 64 MiB: 12 at once would take 768 MiB; at most MAX_CONCURRENT
    run together, so a flood of logins queues instead of exhausting the box."""
    import subprocess
    import sys

    script = (
        "import threading\n"
        "from shared import pins\n"
        "def status(key):\n"
        "    line = next(x for x in open('/proc/self/status') if x.startswith(key))\n"
        "    return int(line.split()[1]) // 1024\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # reset the peak (VmHWM) to now\n"
        "base = status('VmRSS')\n"
        "threads = [threading.Thread(target=pins.derive, args=(f'{n:06d}', '00' * 16, pins.PIN_KDF))"
        " for n in range(12)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(status('VmHWM') - base)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2], check=True)
    grown_mib = int(done.stdout.strip())
    assert pins.MAX_CONCURRENT == 2
    assert 64 <= grown_mib <= (pins.MAX_CONCURRENT + 1) * 64, grown_mib
