"""Settings for every app, read one way: a typed msgspec Struct built from a TOML file, then
``POS_<APP>_*`` environment variables, then explicit overrides (CLI flags), each source
winning over the one before. ``edge.settings`` and ``hub.settings`` declare their Struct
and call ``parse_settings``; what a setting means and which values are unsafe stays with
them.

One strictness everywhere: a name the Struct does not have (a typo in the file, an unknown
override) is refused, so is a value of the wrong type; an environment value must spell its
type exactly (booleans ``1/0, true/false, yes/no, on/off``; integers in decimal; lists
comma-separated). Environment variables with the prefix but no matching field are ignored:
other components share the prefix (``POS_HUB_CONFIG``, ``POS_EDGE_DATA_DIR``), and the
environment is not ours alone. Every problem is a ``SettingsError`` that names the setting
and where it came from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

__all__ = ["SettingsError", "parse_settings", "read_toml"]

S = TypeVar("S", bound=msgspec.Struct)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """The settings cannot be used (the message says which one and why)."""


def read_toml(path: Path | str, table: str | None = None) -> dict[str, Any]:
    """The settings in a TOML file (in ``[table]`` when given; {} when the table is absent)."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from exc
    if table is None:
        return data
    values = data.get(table, {})
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: [{table}] must be a table")
    return values


def _from_env(name: str, raw: str, kind: Any) -> Any:
    if kind in (bool, "bool"):
        if raw.strip().lower() in _TRUE:
            return True
        if raw.strip().lower() in _FALSE:
            return False
        raise SettingsError(f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}")
    if kind in (int, "int"):
        try:
            return int(raw.strip(), 10)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if kind in (float, "float"):
        try:
            return float(raw.strip())
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if kind in (list[str], "list[str]"):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def parse_settings(cls: type[S], *, env_prefix: str, environ: Mapping[str, str],
                   file_values: Mapping[str, Any] | None = None, source: str = "the settings file",
                   overrides: Mapping[str, Any] | None = None) -> S:
    """``cls`` from ``file_values`` < ``<env_prefix><FIELD>`` variables < ``overrides``
    (an override of None is no override)."""
    kinds = {field.name: field.type for field in msgspec.structs.fields(cls)}
    file_values = dict(file_values or {})
    unknown = sorted(set(file_values) - set(kinds))
    if unknown:
        raise SettingsError(f"unknown settings in {source}: {', '.join(unknown)}")
    values = file_values
    for name, kind in kinds.items():
        variable = env_prefix + name.upper()
        raw = environ.get(variable)
        if raw is not None:
            values[name] = _from_env(variable, raw, kind)
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    unknown = sorted(set(given) - set(kinds))
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(unknown)}")
    values.update(given)
    try:
        return msgspec.convert(values, cls)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc
