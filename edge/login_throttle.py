"""How many staff PINs may be tried on the box, and how long a lock lasts (security issue H3).

A PIN names nobody until it matches, so wrong PINs cannot be counted "per staff member"
directly. They are counted in two scopes instead, both stored in the database
(``login_throttle``, migration 0011) so a restart forgives nothing:

* ``device:<id>``: the paired device the PIN was typed on (``policy.device_max`` wrong PINs);
* ``outlet``: every device of the box together (``policy.outlet_max``). Each wrong PIN is a
  guess at every staff member's PIN at once, so this is the per-member count: however many
  devices an attacker uses, no member's PIN gets more guesses than this scope allows.

A scope that collects its limit of wrong PINs locks: no PIN at all (not even a right one) is
looked up there until the lock ends, so a lucky guess during a lock tells the guesser nothing.
The first lock lasts ``lockout_seconds``, each next one twice as long (up to
``lockout_max_seconds``). Wrong PINs are forgotten once a scope has gone ``window_seconds``
without a wrong PIN or a lock, the doubling after ``forget_lockouts_seconds`` without one.

One login runs three short write transactions around the slow PIN lookup:

1. ``reserve``: refuse (429) while a scope is locked or already holds its limit of attempts;
   otherwise count this attempt in both scopes *before* the lookup. The edge's single writer
   thread runs reservations one after the other, so 300 parallel requests get at most the
   limit of lookups, not one per request.
2. the PIN lookup (edge.devices, off the event loop);
3. ``failed`` locks the scopes that reached their limit; ``succeeded`` gives back this
   attempt only. Nobody's success erases anybody else's wrong PINs.
"""

from __future__ import annotations

import math
import sqlite3

from msgspec import Struct

from shared.errors import TooManyRequests

__all__ = ["OUTLET_SCOPE", "Lock", "ThrottlePolicy", "clear", "failed", "reserve", "succeeded"]

OUTLET_SCOPE = "outlet"
_IN_FLIGHT_SECONDS = 30.0  # longer than any PIN lookup takes


class ThrottlePolicy(Struct, kw_only=True, frozen=True):
    device_max: int = 5
    outlet_max: int = 10
    window_seconds: float = 900.0
    lockout_seconds: float = 60.0
    lockout_max_seconds: float = 3600.0
    forget_lockouts_seconds: float = 86_400.0


class Lock(Struct, kw_only=True, frozen=True):
    """A lock that a wrong PIN just started (for the log and the metrics)."""

    scope: str
    seconds: float
    lockouts: int


class _State(Struct, kw_only=True):
    attempts: int = 0
    last_attempt: float = 0.0
    lockouts: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


def _scopes(device_id: str) -> tuple[str, str]:
    return f"device:{device_id}", OUTLET_SCOPE


def _limit(scope: str, policy: ThrottlePolicy) -> int:
    return policy.outlet_max if scope == OUTLET_SCOPE else policy.device_max


def _load(conn: sqlite3.Connection, scope: str, policy: ThrottlePolicy, now: float) -> _State:
    row = conn.execute("SELECT attempts, last_attempt, lockouts, locked_until, last_failure"
                       " FROM login_throttle WHERE scope = ?", (scope,)).fetchone()
    if row is None:
        return _State()
    state = _State(attempts=int(row[0]), last_attempt=float(row[1]), lockouts=int(row[2]),
                   locked_until=float(row[3]), last_failure=float(row[4]))
    # Quiet means no wrong PIN and no lock for a while; right PINs do not make it noisy, or
    # a busy till would carry every typo of the day. The in-flight guard keeps a burst of
    # parallel reservations from resetting each other's count.
    quiet = now - max(state.last_failure, state.locked_until)
    if quiet >= policy.window_seconds and now - state.last_attempt >= _IN_FLIGHT_SECONDS:
        state.attempts = 0
    if quiet >= policy.forget_lockouts_seconds:
        state.lockouts = 0
    return state


def _save(conn: sqlite3.Connection, scope: str, state: _State) -> None:
    conn.execute(
        "INSERT INTO login_throttle (scope, attempts, last_attempt, lockouts, locked_until,"
        " last_failure) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET"
        " attempts = excluded.attempts, last_attempt = excluded.last_attempt,"
        " lockouts = excluded.lockouts, locked_until = excluded.locked_until,"
        " last_failure = excluded.last_failure",
        (scope, state.attempts, state.last_attempt, state.lockouts, state.locked_until,
         state.last_failure))


def reserve(conn: sqlite3.Connection, device_id: str, policy: ThrottlePolicy, now: float) -> None:
    """Count one PIN attempt on ``device_id`` before it is checked; 429 when none is allowed."""
    states = {scope: _load(conn, scope, policy, now) for scope in _scopes(device_id)}
    for scope, state in states.items():
        where = "this box" if scope == OUTLET_SCOPE else "this device"
        if state.locked_until > now:
            raise TooManyRequests(
                f"too many wrong PINs on {where}; wait and try again",
                details={"scope": "outlet" if scope == OUTLET_SCOPE else "device",
                         "retry_after_seconds": max(1, math.ceil(state.locked_until - now))})
        if state.attempts >= _limit(scope, policy):
            # The limit is taken by attempts still being checked: the next answer decides.
            raise TooManyRequests(
                f"too many PIN attempts at once on {where}; wait and try again",
                details={"scope": "outlet" if scope == OUTLET_SCOPE else "device",
                         "retry_after_seconds": 1})
    for scope, state in states.items():
        state.attempts += 1
        state.last_attempt = now
        _save(conn, scope, state)


def failed(conn: sqlite3.Connection, device_id: str, policy: ThrottlePolicy,
           now: float) -> list[Lock]:
    """The reserved attempt was a wrong PIN: lock the scopes that reached their limit."""
    locks = []
    for scope in _scopes(device_id):
        state = _load(conn, scope, policy, now)
        state.attempts = max(state.attempts, 1)  # the reservation, should the window have reset it
        state.last_attempt = now
        if state.attempts >= _limit(scope, policy):
            seconds = min(policy.lockout_max_seconds,
                          policy.lockout_seconds * 2 ** min(state.lockouts, 32))
            state.locked_until = now + seconds
            state.lockouts += 1
            state.attempts = 0
            locks.append(Lock(scope=scope, seconds=seconds, lockouts=state.lockouts))
        state.last_failure = now
        _save(conn, scope, state)
    return locks


def succeeded(conn: sqlite3.Connection, device_id: str, policy: ThrottlePolicy,
              now: float) -> None:
    """The reserved attempt was a right PIN: give that one attempt back, nothing more."""
    for scope in _scopes(device_id):
        state = _load(conn, scope, policy, now)
        if state.attempts:
            state.attempts -= 1
            _save(conn, scope, state)


def clear(conn: sqlite3.Connection) -> int:
    """Lift every lock and forget every wrong PIN (a technician's recovery); return the rows."""
    return conn.execute("DELETE FROM login_throttle").rowcount
