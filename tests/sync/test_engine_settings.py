"""Sync engine settings from the environment, and the backoff that paces retries."""

from __future__ import annotations

import pytest

from sync.engine import Backoff, SyncSettings


def test_settings_from_environment():
    settings = SyncSettings.from_env({"POS_SYNC_INTERVAL": "2.5", "POS_SYNC_MAX_BACKOFF": "30",
                                      "POS_SYNC_BATCH_EVENTS": "50", "POS_SYNC_ENABLED": "0",
                                      "UNRELATED": "x"})
    assert (settings.interval, settings.max_backoff, settings.batch_events, settings.enabled) == (
        2.5, 30.0, 50, False)
    assert SyncSettings.from_env({}).max_backoff == 60.0
    with pytest.raises(ValueError):
        SyncSettings.from_env({"POS_SYNC_MIN_BACKOFF": "10", "POS_SYNC_MAX_BACKOFF": "1"})
    with pytest.raises(ValueError):
        SyncSettings.from_env({"POS_SYNC_BATCH_EVENTS": "many"})


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets():
    backoff = Backoff(1.0, 20.0)
    delays = [backoff.failure(0.0) for _ in range(12)]
    assert all(1.0 <= d <= 20.0 for d in delays)
    assert max(delays[6:]) > 4.0  # grew well beyond the first delay
    assert len({round(d, 6) for d in delays}) > 6  # jittered, not a fixed ladder
    assert not backoff.ready(0.5) and backoff.ready(21.0)
    assert backoff.failure(100.0, refused=True) == 20.0  # a refusal waits the maximum
    backoff.success()
    assert backoff.ready(0.0) and backoff.failures == 0
    patient = Backoff(1.0, 20.0, refused=300.0)
    assert patient.failure(0.0, refused=True) == 300.0  # a refusal waits its own, longer pause
    assert all(patient.failure(0.0) <= 20.0 for _ in range(20))  # an outage stays under the cap
