"""A sweep file: a base config and the points to try, every point validated before anything runs.

    name: rt-grid                       # optional (default: the file's name); names the sweep id
    base: core                          # a profile or a config file (relative to the sweep file)
    start: 2000-01-01                   # optional period, as `macrostack run --start/--end`
    grid:                               # cartesian product over dotted config paths
      risk_targeting.target_vol: [0.10, 0.15, 0.20]
      execution.no_trade_buffer: [0, 0.02, 0.05]
    # or, instead of grid:
    random:
      n: 200
      seed: 7
      params:
        risk_targeting.target_vol: {low: 0.08, high: 0.30}       # uniform
        risk_targeting.vol_lookback: {low: 21, high: 252, int: true}
        allocator.profile: [H, M, L]                              # choices

Each point is `base.with_(**values)`: the same pydantic validation as a YAML config, so an
invalid point is refused up front with its number, its values and the key path. Points whose
resolved configs are identical (e.g. a random search drawing the same value twice) are kept
once. The sweep id is `<name>-<10 hex of sha256(the resolved base config and the points)>`:
the same file gives the same id, which is what lets a killed sweep resume.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from macrostack.config import StackConfig, load_config, load_yaml
from macrostack.errors import InputError
from macrostack.runs.ids import NAME_PATTERN, NAME_RULE
from macrostack.userfiles import read_text

Value = bool | int | float | str | None | list


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A numeric range for a random search: uniform in [low, high] (log-uniform with `log`)."""
    low: float
    high: float
    int: bool = Field(False, description="draw whole numbers")
    log: bool = Field(False, description="log-uniform (low > 0)")

    @model_validator(mode="after")
    def _order(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError("needs finite low <= high")
        if self.log and self.low <= 0:
            raise ValueError("log ranges need low > 0")
        return self


class RandomSearch(_Strict):
    n: int = Field(ge=1, le=100_000, description="points to draw")
    seed: int = Field(0, description="the draws are reproducible for a seed")
    params: dict[str, Range | list[Value]] = Field(description="dotted config path → range or list of choices")

    @field_validator("params")
    @classmethod
    def _params(cls, params):
        if not params:
            raise ValueError("is empty: give at least one dotted config path")
        for path, choices in params.items():
            if isinstance(choices, list) and not choices:
                raise ValueError(f"{path}: an empty list of choices")
        return params


class SweepSpec(_Strict):
    name: str | None = Field(None, description="names the sweep id (default: the file's name)")
    base: str = Field("core", description="profile name or config file (relative to the sweep file)")
    start: date | None = None
    end: date | None = None
    grid: dict[str, list[Value]] | None = Field(None, description="dotted config path → values (cartesian product)")
    random: RandomSearch | None = None

    @model_validator(mode="after")
    def _one_search(self):
        if (self.grid is None) == (self.random is None):
            raise ValueError("give exactly one of `grid` or `random`")
        if self.grid is not None:
            if not self.grid:
                raise ValueError("grid: is empty: give at least one dotted config path with values")
            empty = [k for k, v in self.grid.items() if not v]
            if empty:
                raise ValueError(f"grid: {empty[0]}: an empty list of values")
        return self


@dataclass(frozen=True)
class Point:
    """One config of a sweep: its number, the values it sets, its validated config and hash."""
    index: int
    values: dict[str, Any]
    config: StackConfig
    config_hash: str


@dataclass(frozen=True)
class Sweep:
    sweep_id: str
    name: str
    source: str
    spec: SweepSpec
    base: StackConfig
    points: tuple[Point, ...]
    dropped_duplicates: int

    @property
    def varied(self) -> list[str]:
        """The dotted paths the sweep varies, in the file's order."""
        return list(self.spec.grid or self.spec.random.params)


def _draws(search: RandomSearch) -> list[dict[str, Any]]:
    """`n` reproducible draws: one generator, paths in the file's order, one value each per draw."""
    rng = np.random.default_rng(search.seed)
    rows = []
    for _ in range(search.n):
        row = {}
        for path, spec in search.params.items():
            if isinstance(spec, list):
                row[path] = spec[int(rng.integers(len(spec)))]
            elif spec.log:
                value = float(np.exp(rng.uniform(np.log(spec.low), np.log(spec.high))))
                row[path] = int(round(value)) if spec.int else value
            elif spec.int:
                row[path] = int(rng.integers(math.ceil(spec.low), math.floor(spec.high) + 1))
            else:
                row[path] = float(rng.uniform(spec.low, spec.high))
        rows.append(row)
    return rows


def expand(spec: SweepSpec) -> list[dict[str, Any]]:
    """The points' values: the grid's cartesian product (last path varies fastest), or the draws."""
    if spec.grid is not None:
        paths = list(spec.grid)
        return [dict(zip(paths, combo)) for combo in itertools.product(*(spec.grid[p] for p in paths))]
    return _draws(spec.random)


def _parse_spec(raw: Any, source: str) -> SweepSpec:
    if not isinstance(raw, dict):
        raise InputError("a sweep file must be a YAML mapping (base, grid or random)", source)
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise InputError(f"unknown sweep key {path!r}", source, "use name, base, start, end, grid or random") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(f"{path + ': ' if path else ''}{msg}", source, "see the sweep file example in the README") from None


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and expand a sweep file (every point validated; nothing runs)."""
    path = Path(path)
    source = str(path)
    if path.suffix not in (".yaml", ".yml"):
        raise InputError("a sweep file must be a .yaml file", source, "see the sweep file example in the README")
    spec = _parse_spec(load_yaml(read_text(path, "sweep file"), source), source)
    name = spec.name or path.stem
    if not re.fullmatch(NAME_PATTERN, name):
        raise InputError(f"sweep name {name!r} is not valid: use {NAME_RULE}", source, "set `name:` in the sweep file")
    base_ref = spec.base
    base_path = path.parent / base_ref
    base = load_config(base_path if base_ref.endswith((".yaml", ".yml")) else base_ref)
    if spec.start is not None or spec.end is not None:
        from macrostack.runner import with_dates
        base = with_dates(base, spec.start, spec.end)
    if base.allocator.mode == "precomputed":
        raise InputError("a sweep cannot replay precomputed allocator scalars", "base: allocator.mode",
                         "use allocator.mode compute or off")
    points, seen, dropped = [], set(), 0
    for i, values in enumerate(expand(spec)):
        try:
            cfg = base.with_(**values)
        except InputError as exc:
            shown = json.dumps(values, default=str)[:200]
            raise InputError(f"point {i} {shown} is invalid: {exc.what}", source,
                             "fix the values or paths in the sweep file") from None
        if cfg.allocator.mode == "precomputed":
            raise InputError(f"point {i} sets allocator.mode precomputed, which a sweep cannot replay", source,
                             "sweep allocator.mode over compute and off only")
        h = cfg.config_hash()
        if h in seen:
            dropped += 1
            continue
        seen.add(h)
        points.append(Point(len(points), values, cfg, h))
    digest = hashlib.sha256(json.dumps([base.config_hash(), [p.config_hash for p in points]]).encode()).hexdigest()
    return Sweep(f"{name}-{digest[:10]}", name, source, spec, base, tuple(points), dropped)
