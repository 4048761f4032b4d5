"""One settings parser with one strictness (shared.settings), as the edge and the hub use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.settings import load_settings as edge_settings
from hub.settings import load_settings as hub_settings
from shared.settings import SettingsError


def test_environment_values_are_read_strictly_by_both_apps(tmp_path: Path) -> None:
    for load, prefix in ((lambda env: edge_settings(tmp_path, environ=env), "POS_EDGE_"),
                         (lambda env: hub_settings(None, environ=env), "POS_HUB_")):
        assert load({prefix + "DEMO": "on"}).demo is True
        assert load({prefix + "DEMO": "0"}).demo is False
        # "maybe" used to be read as false on the edge
        with pytest.raises(SettingsError, match=f"{prefix}DEMO must be true or false"):
            load({prefix + "DEMO": "maybe"})
        with pytest.raises(SettingsError, match=f"{prefix}PORT must be an integer"):
            load({prefix + "PORT": "80a"})
        assert load({prefix + "PORT": "9001", prefix + "SOMETHING_ELSE": "x"}).port == 9001


def test_an_unknown_or_mistyped_name_in_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "edge.toml").write_text('[edge]\ndemo = true\njwt_secrte = "typo"\n')
    with pytest.raises(SettingsError, match="unknown settings in .*edge.toml: jwt_secrte"):
        edge_settings(tmp_path, environ={})
    (tmp_path / "edge.toml").write_text('[edge]\nport = "8080"\n')
    with pytest.raises(SettingsError, match="invalid settings"):
        edge_settings(tmp_path, environ={})
    hub_file = tmp_path / "hub.toml"
    hub_file.write_text("port = 8000\nlog_requets = true\n")
    with pytest.raises(SettingsError, match="unknown settings in .*hub.toml: log_requets"):
        hub_settings(hub_file, environ={})
    hub_file.write_text("port = [\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        hub_settings(hub_file, environ={})


def test_sources_win_in_order_file_environment_overrides(tmp_path: Path) -> None:
    (tmp_path / "edge.toml").write_text("[edge]\nport = 8100\nlog_level = \"DEBUG\"\n")
    settings = edge_settings(tmp_path, environ={"POS_EDGE_PORT": "8200"}, host=None)
    assert (settings.port, settings.log_level, settings.host) == (8200, "DEBUG", "127.0.0.1")
    assert edge_settings(tmp_path, environ={"POS_EDGE_PORT": "8200"}, port=8300).port == 8300
    with pytest.raises(SettingsError, match="unknown settings: prot"):
        hub_settings(None, environ={}, prot=1)


def test_the_hub_still_refuses_a_weak_jwt_secret() -> None:
    settings = hub_settings(None, environ={"POS_HUB_JWT_SECRET": "change-me-" * 5})
    with pytest.raises(ValueError, match="placeholder"):
        settings.resolved_jwt_secret()
