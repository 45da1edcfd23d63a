"""The stack configuration: pydantic models of every layer, loaded from one YAML file.

Unknown keys are rejected (no config key is ever ignored silently), out-of-range values are
rejected with the key path, and the resolved config has a stable hash that every run
records. Bundled profiles live in `macrostack/profiles/*.yaml`.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from macrostack.errors import InputError
from macrostack.runs.ids import NAME_PATTERN, NAME_RULE
from macrostack.userfiles import check_readable, read_text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Strict):
    """Which market data: a dataset of the store, its instruments, the period and the rebalance schedule."""
    dataset: str = Field("trendfollowing", description="dataset name in the market store (`macrostack data list`)")
    universe: list[str] | None = Field(None, description="symbols; null = every instrument of the dataset")
    start: date | None = Field(None, description="first session that counts; null = first ready session")
    end: date | None = Field(None, description="last session; null = the data's last")
    schedule: Literal["D", "W-FRI", "M"] = Field("W-FRI", description="rebalance sessions: D daily, W-FRI weekly, "
                                                                      "M month-end")
    allow_level_returns: bool = Field(False, description="use instruments whose returns come from a back-adjusted "
                                      "level (return_basis adjusted_level: no contract prices, mis-scaled); "
                                      "false excludes them (listed in the manifest)")

    @field_validator("universe")
    @classmethod
    def _universe(cls, symbols):
        if symbols is not None and not symbols:
            raise ValueError("is empty: list at least one symbol, or null for every instrument of the dataset")
        return symbols

    @model_validator(mode="after")
    def _dates(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError("start must be <= end")
        return self


class TrendParams(Strict):
    """Multi-horizon time-series momentum (SYSTEM.md §1)."""
    horizons: dict[Literal["long", "medium", "short"], float] = Field(
        default_factory=lambda: {"long": 0.5, "medium": 0.3, "short": 0.2},
        description="horizon weights: long 252 sessions (skip 21), medium 84 (skip 10), short 21 (skip 5)")
    feature_weights: dict[Literal["momentum", "breakout", "slope"], float] = Field(
        default_factory=lambda: {"momentum": 0.5, "breakout": 0.3, "slope": 0.2},
        description="per horizon: return/vol, position in range, EMA slope/vol")
    z_window: int = Field(252, ge=20, le=2520, description="sessions of each feature's rolling z-score")
    z_min_periods: int = Field(126, ge=10, description="sessions before the z-score is defined")
    z_clip: float = Field(3.0, gt=0, description="z-scores clipped at ±this")
    cross_sectional: bool = Field(False, description="z-score across instruments too (removes the net trend)")

    @model_validator(mode="after")
    def _check(self):
        if self.z_min_periods > self.z_window:
            raise ValueError("z_min_periods must be <= z_window")
        for name, weights in (("horizons", self.horizons), ("feature_weights", self.feature_weights)):
            if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"{name} must be >= 0 with a positive sum")
        return self


class EwmacParams(Strict):
    """EWMA crossover (SYSTEM.md §1): speeds (fast, slow) in sessions, forecasts scaled to avg |10|, capped."""
    speeds: list[tuple[int, int]] = Field(default_factory=lambda: [(8, 32), (16, 64), (32, 128), (64, 256)],
                                          description="(fast, slow) EMA spans in sessions")
    vol_span: int = Field(25, ge=5, le=500, description="EWMA span of the price-change vol σ_price (sessions)")
    forecast_cap: float = Field(20.0, gt=0, description="|forecast| cap (average |forecast| is scaled to 10)")

    @model_validator(mode="after")
    def _speeds(self):
        if not self.speeds or any(not 1 <= f < s for f, s in self.speeds):
            raise ValueError("speeds must be non-empty (fast, slow) pairs with 1 <= fast < slow")
        return self


class CsmomParams(Strict):
    """Cross-sectional momentum: lookback (sessions) → weight; market neutral."""
    lookbacks: dict[int, float] = Field(default_factory=lambda: {63: 0.4, 126: 0.35, 252: 0.25},
                                        description="lookback (sessions) → weight of its cross-sectional z")
    stale_after: int = Field(10, ge=1, le=100, description="rank only instruments with a bar this recently")

    @model_validator(mode="after")
    def _lookbacks(self):
        if not self.lookbacks or any(k < 5 or w < 0 for k, w in self.lookbacks.items()) or sum(self.lookbacks.values()) <= 0:
            raise ValueError("lookbacks must map sessions >= 5 to weights >= 0 with a positive sum")
        return self


class CarryParams(Strict):
    """Carry: annualised roll yield from held vs carry contract, smoothed, vol-normalised."""
    smooth: int = Field(90, ge=1, le=500)


class VolCarryParams(Strict):
    """Vol carry: volatility-future term structure; short vol in contango."""
    smooth: int = Field(10, ge=1, le=500)
    symbols: list[str] = Field(default_factory=lambda: ["VIX", "V2X"])


class _ZParams(Strict):
    z_window: int = Field(252, ge=20, le=2520, description="sessions of the trailing z-score (the series' own sessions)")
    z_min_periods: int = Field(126, ge=10, description="values before the z-score is defined")
    z_clip: float = Field(3.0, gt=0, le=10, description="z clipped at ±this; the signal is z / z_clip")

    @model_validator(mode="after")
    def _z(self):
        if self.z_min_periods > self.z_window:
            raise ValueError("z_min_periods must be <= z_window")
        return self


class VrpCoreParams(_ZParams):
    """VRP: implied (front vol future) − realised vol of the equity future, trailing z; long and short."""
    pairs: dict[str, str] = Field(default_factory=lambda: {"VIX": "SP500"},
                                  description="volatility future → equity future (e.g. V2X: EUROSTX)")
    rv_window: int = Field(21, ge=2, le=252, description="sessions of the equity future's realised vol")

    @field_validator("pairs")
    @classmethod
    def _pairs(cls, pairs):
        if not pairs:
            raise ValueError("is empty: give at least one volatility future → equity future pair")
        return pairs


class VrpAltParams(VrpCoreParams):
    """VRP on a 5-session realised vol, short-only."""
    rv_window: int = Field(5, ge=2, le=252, description="sessions of the equity future's realised vol")


class VrpConvergenceParams(_ZParams):
    """VRP convergence: trailing z of the front − second vol-future slope, short-only calendar spread."""
    vol_futures: list[str] = Field(default_factory=lambda: ["VIX"],
                                   description="volatility futures traded as calendar spreads (each needs its "
                                               "<V>_FRONT derived at ingest), e.g. [VIX, V2X]")

    @field_validator("vol_futures")
    @classmethod
    def _vol_futures(cls, symbols):
        if not symbols or len(set(symbols)) != len(symbols):
            raise ValueError("must list at least one volatility future, each once")
        return symbols


class CurveRvParams(_ZParams):
    """Rates curve RV: duration-neutral slopes/butterflies by trailing regression hedge ratios."""
    mode: Literal["momentum", "mean_reversion"] = Field("mean_reversion", description="follow the spread's z "
                                                        "(momentum) or fade it (mean_reversion)")
    spreads: list[Literal["2s10s", "5s30s", "2s5s10s"]] = Field(
        default_factory=lambda: ["2s10s", "5s30s", "2s5s10s"], description="spreads traded, equal weight")
    tenors: dict[Literal["2", "5", "10", "30"], list[str]] = Field(
        default_factory=lambda: {"2": ["US2", "TU"], "5": ["US5", "FV"], "10": ["US10", "TY"], "30": ["US30", "US"]},
        description="tenor (years) → bond future symbols, the first one the data has is used")
    hedge_window: int = Field(252, ge=20, le=2520, description="sessions of the hedge-ratio regression")
    hedge_min_periods: int = Field(126, ge=10, description="sessions before a hedge ratio is defined")

    @model_validator(mode="after")
    def _hedge(self):
        if self.hedge_min_periods > self.hedge_window:
            raise ValueError("hedge_min_periods must be <= hedge_window")
        if not self.spreads or len(set(self.spreads)) != len(self.spreads):
            raise ValueError("spreads must list at least one of 2s10s, 5s30s, 2s5s10s, each once")
        return self


ENGINE_PARAMS = {"trend": TrendParams, "ewmac": EwmacParams, "csmom": CsmomParams, "carry": CarryParams,
                 "vol_carry": VolCarryParams, "vrp_core": VrpCoreParams, "vrp_convergence": VrpConvergenceParams,
                 "vrp_alt": VrpAltParams, "curve_rv": CurveRvParams}


class SleeveConfig(Strict):
    """One sleeve: an engine, its static mixing weight and its parameters."""
    engine: Literal["trend", "ewmac", "csmom", "carry", "vol_carry", "vrp_core", "vrp_convergence", "vrp_alt",
                    "curve_rv"] = Field(
        "trend", description="trend | ewmac | csmom | carry | vol_carry | vrp_core | vrp_convergence | vrp_alt | "
                             "curve_rv")
    weight: float = Field(1.0, ge=0, description="static mixing weight ω (normalised to sum 1; 0 = off)")
    required: bool = Field(True, description="fail the run when the sleeve's data is missing (else INERT)")
    params: (TrendParams | EwmacParams | CsmomParams | CarryParams | VolCarryParams | VrpAltParams | VrpCoreParams
             | VrpConvergenceParams | CurveRvParams) = Field(
        default_factory=TrendParams, description="the engine's own parameters")

    @model_validator(mode="before")
    @classmethod
    def _engine_params(cls, data):
        # Each engine has its own parameter model; validate `params` against it (unknown keys rejected).
        if isinstance(data, dict):
            engine = data.get("engine", "trend")
            model = ENGINE_PARAMS.get(engine)
            if model is not None and not isinstance(data.get("params"), BaseModel):
                try:
                    data = {**data, "params": model.model_validate(data.get("params") or {})}
                except ValidationError as exc:
                    err = exc.errors()[0]
                    key = ".".join(str(p) for p in err["loc"])
                    if err["type"] == "extra_forbidden":
                        raise ValueError(f"params: unknown key {key!r} for engine {engine!r}") from None
                    where = f"params.{key}" if key else "params"
                    raise ValueError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None
        return data


class SignalConfig(Strict):
    """Signal → sleeve weights: `s_i / σ_i`, then the sleeve scaled to a unit ex-ante risk."""
    vol_halflife: int = Field(63, ge=2, le=1000, description="EWMA half-life of instrument vol σ_i (sessions)")
    vol_floor: float = Field(0.05, gt=0, le=1, description="floor of σ_i (annualised)")
    sleeve_unit_risk: float = Field(0.10, gt=0, le=1, description="each sleeve's standalone ex-ante vol before mixing")
    stale_after: int = Field(10, ge=1, le=100, description="sessions without a bar before an instrument is untradable")


class ConstructionConfig(Strict):
    """How sleeves are mixed: `static` ω (normalised), or from trailing sleeve returns:
    `inverse_vol` (ω ∝ 1/σ_k) or `erc` (equal risk contribution)."""
    method: Literal["static", "inverse_vol", "erc"] = "static"
    lookback: int = Field(252, ge=20, le=2520, description="sessions of sleeve returns for inverse_vol / erc")


class GateConfig(Strict):
    """One engine-policy gate: turn a sleeve down when a stress feature is high."""
    sleeve: str
    feature: Literal["realised_vol_percentile", "vol_level_percentile", "term_structure_inversion"]
    symbol: str
    window: int = Field(21, ge=2, le=252, description="realised-vol window (sessions)")
    lookback: int = Field(252, ge=20, le=2520, description="percentile history (sessions)")
    threshold: float = Field(0.95, description="feature value at which the gate starts to close")
    mode: Literal["binary", "throttle"] = "binary"
    full_off: float = Field(1.0, description="throttle: feature value at which the gate is fully closed")

    @model_validator(mode="after")
    def _throttle(self):
        if self.mode == "throttle" and self.full_off <= self.threshold:
            raise ValueError("full_off must be > threshold for a throttle gate")
        return self


class PolicyConfig(Strict):
    """Engine policy (layer 2): per-sleeve gates from stress features, applied one rebalance late."""
    gates: list[GateConfig] = Field(default_factory=list, description="none = policy off")


class OverlayConfig(Strict):
    """Dated bounded tilts from a CSV/YAML file (start, end, scope, target, tilt, reason)."""
    file: str | None = Field(None, description="tilt file; a relative path is read from the config file's folder")
    min_tilt: float = Field(0.5, ge=0, description="lowest multiplicative tilt (<= 1)")
    max_tilt: float = Field(1.5, gt=0, description="highest multiplicative tilt (>= 1)")

    @model_validator(mode="after")
    def _bounds(self):
        # The bounds also clip every product of tilts, untilted weights (tilt 1) included.
        if not self.min_tilt <= 1.0 <= self.max_tilt:
            raise ValueError("min_tilt must be <= 1 <= max_tilt (a tilt of 1 is 'no tilt')")
        return self


class RiskTargetingConfig(Strict):
    """Risk targeting (layer 5): L = clip(target_vol / max(σ_u, vol_floor), floor, cap) on unit-gross weights."""
    target_vol: float = Field(0.20, gt=0, le=2, description="annualised ex-ante vol of the book")
    vol_lookback: int = Field(63, ge=5, le=1260, description="sessions of returns for the covariance Σ_t")
    leverage_floor: float = Field(1.0, ge=0, description="lowest gross leverage L")
    leverage_cap: float = Field(7.0, gt=0, le=100, description="highest gross leverage L")
    vol_floor: float = Field(0.05, gt=0, le=1, description="σ_u below this counts as this (annualised)")
    estimator: Literal["sample", "ewma", "ledoit_wolf", "newey_west"] = Field(
        "sample", description="sample | ewma | ledoit_wolf | newey_west (sample plus Bartlett-weighted "
                              "autocovariances: sizes for serially correlated P&L)")
    ewma_lambda: float = Field(0.94, gt=0, lt=1, description="decay λ of the ewma estimator")
    newey_west_lags: int = Field(5, ge=0, le=60, description="autocovariance lags of the newey_west estimator "
                                                             "(0 = sample); < vol_lookback")

    @model_validator(mode="after")
    def _bounds(self):
        if self.leverage_floor > self.leverage_cap:
            raise ValueError("leverage_floor must be <= leverage_cap")
        if self.estimator == "newey_west" and self.newey_west_lags >= self.vol_lookback:
            raise ValueError("newey_west_lags must be < vol_lookback")
        return self


class AllocatorConfig(Strict):
    """Allocator (layer 6): a regime-based brake s in (0, 1] on the whole book, one rebalance late."""
    mode: Literal["off", "compute", "precomputed"] = Field("compute", description="off | compute | precomputed")
    profile: Literal["H", "M", "L"] = Field("H", description="risk scalars by regime: H mild, M, L hardest")
    precomputed_run: str | None = Field(None, description="run id whose scalars to replay (mode precomputed)")
    min_sessions_in_regime: int = Field(5, ge=1, le=252, description="sessions before a regime may de-escalate")

    @model_validator(mode="after")
    def _run(self):
        if self.mode == "precomputed" and not self.precomputed_run:
            raise ValueError("mode 'precomputed' needs precomputed_run (an earlier run id)")
        if self.mode != "precomputed" and self.precomputed_run:
            raise ValueError("precomputed_run is only used with mode 'precomputed'")
        return self


class ExecutionConfig(Strict):
    """Margin and execution (layer 7): caps, no-trade buffer, contract rounding, the P&L's lag and holding."""
    lag: int = Field(1, ge=1, le=20, description="sessions between decision close and first held session")
    holding: Literal["constant", "drift"] = Field("constant", description="constant weights, or drift with prices "
                                                                          "between rebalances")
    instrument_cap: float | None = Field(None, gt=0, description="max |weight| per instrument")
    gross_cap: float | None = Field(None, gt=0, description="max gross exposure Σ|w|")
    no_trade_buffer: float = Field(0.0, ge=0, le=1, description="skip trades with |Δw| below this")
    capital: float | None = Field(None, gt=0, description="USD; when set, weights are rounded to whole contracts")


class StackConfig(Strict):
    name: str = Field("custom", description="names the default run id: letters, digits, '._-', no leading dot, "
                                            "<= 64 characters (it is data, never a path)")
    description: str = Field("", description="one line shown by `macrostack config list`")
    data: DataConfig = Field(default_factory=DataConfig)
    sleeves: dict[str, SleeveConfig] = Field(default_factory=lambda: {"trend": SleeveConfig()},
                                             description="Engines (layer 1): sleeve name → engine, weight, params")
    signals: SignalConfig = Field(default_factory=SignalConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    construction: ConstructionConfig = Field(default_factory=ConstructionConfig)
    overlay: OverlayConfig = Field(default_factory=OverlayConfig)
    risk_targeting: RiskTargetingConfig = Field(default_factory=RiskTargetingConfig)
    allocator: AllocatorConfig = Field(default_factory=AllocatorConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(NAME_PATTERN, value):
            raise ValueError(f"{value[:80]!r} is not a valid name: use {NAME_RULE}")
        return value

    @model_validator(mode="after")
    def _sleeves(self):
        if not self.sleeves or sum(s.weight for s in self.sleeves.values()) <= 0:
            raise ValueError("sleeves: at least one sleeve with weight > 0 is needed")
        for gate in self.policy.gates:
            if gate.sleeve not in self.sleeves:
                raise ValueError(f"policy gate for unknown sleeve {gate.sleeve!r} (sleeves: {', '.join(self.sleeves)})")
        return self

    def resolved(self) -> dict:
        """The full config with every default filled in (JSON types)."""
        return self.model_dump(mode="json")

    def with_(self, **changes) -> StackConfig:
        """A new config with dotted paths set, validated exactly like YAML:
        `cfg.with_(**{"risk_targeting.target_vol": 0.15, "sleeves.trend.weight": 2})`."""
        raw = self.resolved()
        for dotted, value in changes.items():
            node, keys = raw, dotted.split(".")
            for key in keys[:-1]:
                child = node.get(key) if isinstance(node, dict) else None
                if not isinstance(child, dict):
                    raise InputError(f"{key!r} of {dotted!r} is not a config section", "with_",
                                     "see `macrostack config show core` for the paths")
                node = child
            node[keys[-1]] = value
        return parse_config(raw, "with_")

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.resolved(), sort_keys=True).encode()).hexdigest()


def bundled_profiles() -> list[str]:
    return sorted(p.name[:-5] for p in files("macrostack.profiles").iterdir() if p.name.endswith(".yaml"))


def _error_line(exc: ValidationError, source: str) -> InputError:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return InputError(f"unknown config key {path!r}", source, "remove it or fix its spelling")
    return InputError(f"{path + ' ' if path else ''}{msg}".strip(), source, "see `macrostack config show core`")


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader that refuses duplicate mapping keys at any depth: PyYAML keeps the
    last of two equal keys silently, so a second `risk_targeting:` block would replace the
    first unnoticed."""

    def construct_document(self, node):
        _refuse_duplicate_keys(node, (), set())
        return super().construct_document(node)


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


def _refuse_duplicate_keys(node: yaml.Node, path: tuple[str, ...], visited: set[int]) -> None:
    if id(node) in visited:  # an alias points to a node already checked (and may be recursive)
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[tuple, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` exists to be overridden
                continue
            key = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            dotted = ".".join((*path, str(key_node.value if key else "?")))
            if key in first_line:
                raise DuplicateKeyError(problem=f"duplicate key {dotted!r} (first on line {first_line[key]})",
                                        problem_mark=key_node.start_mark)
            if key is not None:
                first_line[key] = key_node.start_mark.line + 1
            _refuse_duplicate_keys(value_node, (*path, str(key_node.value)), visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicate_keys(item, (*path, str(i)), visited)


def load_yaml(text: str, source: str):
    """Parse YAML text with `ConfigLoader`; errors name the source, line and column."""
    try:
        return yaml.load(text, Loader=ConfigLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        if isinstance(exc, DuplicateKeyError):
            raise InputError(exc.problem, where, "keep one of them (merge the two blocks)") from None
        what = "; ".join(p for p in (exc.context, exc.problem) if p)
        raise InputError(f"invalid YAML: {what}", where, "fix the YAML syntax there") from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML ({str(exc).splitlines()[0]})", source, "fix the YAML syntax") from None


def parse_config(raw: dict, source: str = "config", base_dir: Path | None = None) -> StackConfig:
    """Validate a config mapping. A relative `overlay.file` is resolved against `base_dir`
    (the config file's folder; the working directory when None) and must exist."""
    if not isinstance(raw, dict):
        raise InputError("the config must be a YAML mapping", source, "see `macrostack config show core`")
    try:
        cfg = StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise _error_line(exc, source) from None
    return _resolve_overlay(cfg, base_dir, source)


def _resolve_overlay(cfg: StackConfig, base_dir: Path | None, source: str) -> StackConfig:
    """The config with `overlay.file` absolute (so the run, its manifest and its hash name one
    file wherever they are read), after checking the file can be read: a missing overlay
    fails here, before any data is loaded."""
    if not cfg.overlay.file:
        return cfg
    path = Path(cfg.overlay.file).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    check_readable(path, f"overlay file {str(path)!r}", f"{source}: overlay.file",
                   "fix overlay.file (a relative path is read from the config file's folder)")
    return cfg.model_copy(update={"overlay": cfg.overlay.model_copy(update={"file": str(path.resolve())})})


def load_config(name_or_path: str | Path) -> StackConfig:
    """A bundled profile by name (`core`) or a YAML file path (relative paths in it are read
    from its folder)."""
    text_source = str(name_or_path)
    path = Path(name_or_path)
    base_dir = None
    if path.suffix in (".yaml", ".yml") or path.exists():
        text = read_text(path, "config file")
        base_dir = path.resolve().parent
    else:
        if text_source not in bundled_profiles():
            raise InputError(f"unknown profile {text_source!r}", "run",
                             f"use one of {', '.join(bundled_profiles())} or a YAML file")
        text = files("macrostack.profiles").joinpath(f"{text_source}.yaml").read_text()
        text_source = f"profile {text_source}"
    raw = load_yaml(text, text_source)
    if raw is None:  # an empty file, or comments only: not "every default"
        raise InputError("the config file is empty", text_source,
                         "write a stack config, e.g. `macrostack config show core > my.yaml`")
    return parse_config(raw, text_source, base_dir)
