"""Engines (Layer 1) by name: what each needs from the data, how long it warms up, its signal.

A sleeve whose data the dataset lacks is INERT: the run says which sleeve, which data is
missing and how to get it (or fails when the sleeve is `required`). Never a silent zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from macrostack.data.market import MarketData

CONTRACT_DATA_HINT = "ingest a contract-level dataset: macrostack data ingest pysystemtrade PATH"


@dataclass(frozen=True)
class Engine:
    name: str
    needs: tuple[str, ...]                              # MarketData panels the signal reads
    # signal(md, params, rows): [sessions × instruments] (NaN = not ready), or with `rows`
    # (session indices) only those sessions [len(rows) × instruments]. An engine whose values
    # are per-session cross-sections (csmom) computes just those rows; the others compute
    # every session and select.
    signal: Callable[[MarketData, object, np.ndarray | None], np.ndarray]
    lookback: Callable[[object], int]                   # sessions of history before it is ready
    # "instrument": the signal is a per-instrument score, sized s_i / σ_i by the sleeve layer.
    # "spread": the signal already holds leg weights, vol-normalised per spread (hedge ratios,
    # equal-and-opposite contracts); the sleeve layer must not divide them by each leg's vol.
    sizing: str = "instrument"
    # The promotion gate's sign-only weights for a spread engine: (md, params) → [T, N].
    sign_weights: Callable[[MarketData, object], np.ndarray] | None = None
    # (md, params) → why the dataset cannot feed this engine (INERT), or None.
    why_inert: Callable[[MarketData, object], str | None] | None = None
    uses_derived: bool = False                          # trades derived instruments (e.g. VIX_FRONT)
    note: str = ""                                      # what a reader of the manifest must know

    def missing_data(self, md: MarketData) -> list[str]:
        """Panels this engine needs that the loaded data lacks entirely."""
        return [f for f in self.needs if f not in md.panels or not np.isfinite(md.panels[f]).any()]

    def inert_reason(self, md: MarketData, params) -> str | None:
        """Why this engine cannot run on `md` (missing panels or instruments), or None."""
        missing = self.missing_data(md)
        if missing:
            return f"dataset {md.dataset!r} has no {', '.join(missing)}"
        return self.why_inert(md, params) if self.why_inert else None

    def compute(self, md: MarketData, params, rows: np.ndarray | None = None) -> np.ndarray:
        """The signal on `md`; an engine that does not trade derived instruments never sees
        them (NaN there), so a derived copy of a market is neither traded nor ranked twice."""
        derived = derived_columns(md)
        if self.uses_derived or not derived.any():
            return self.signal(md, params, rows)
        sub = without_columns(md, derived)
        out = np.full((md.n_sessions if rows is None else len(rows), len(md.symbols)), np.nan)
        out[:, ~derived] = self.signal(sub, params, rows)
        return out

    def sanity_weights(self, md: MarketData, params) -> np.ndarray:
        """Sign-only, equal-weight weights [T, N] for the promotion gate."""
        if self.sign_weights is not None:
            return self.sign_weights(md, params)
        signal = self.compute(md, params, None)
        sign = np.sign(np.nan_to_num(signal))
        n = (sign != 0).sum(axis=1, keepdims=True)
        return np.where(n > 0, sign / np.maximum(n, 1), 0.0)


def derived_columns(md: MarketData) -> np.ndarray:
    """[N] bool: instruments derived at ingest (return basis `derived_*`)."""
    if "return_basis" not in md.instruments:
        return np.zeros(len(md.symbols), dtype=bool)
    return md.instruments["return_basis"].fillna("").astype(str).str.startswith("derived").to_numpy()


def without_columns(md: MarketData, drop: np.ndarray) -> MarketData:
    keep = ~np.asarray(drop, dtype=bool)
    return replace(md, symbols=tuple(s for s, k in zip(md.symbols, keep) if k),
                   panels={k: v[:, keep] for k, v in md.panels.items()},
                   instruments=md.instruments[keep].reset_index(drop=True))


def _at(panel: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return panel if rows is None else panel[rows]


def _trend(md, p, rows):
    from macrostack.engines.trend import trend_signal
    return _at(trend_signal(md.returns, p), rows)


def _trend_lookback(p):
    from macrostack.engines.trend import lookback
    return lookback(p)


def _ewmac(md, p, rows):
    from macrostack.engines import ewmac
    return ewmac.signal(md.returns, speeds=[tuple(s) for s in p.speeds], vol_span=p.vol_span,
                        forecast_cap=p.forecast_cap, rows=rows)


def _ewmac_lookback(p):
    from macrostack.engines import ewmac
    return ewmac.lookback(speeds=[tuple(s) for s in p.speeds], vol_span=p.vol_span)


def _csmom(md, p, rows):
    from macrostack.engines import csmom
    return csmom.signal(md.returns, lookbacks=dict(p.lookbacks), stale_after=p.stale_after, rows=rows)


def _csmom_lookback(p):
    from macrostack.engines import csmom
    return csmom.lookback(lookbacks=dict(p.lookbacks))


def _carry(md, p, rows):
    from macrostack.engines import carry
    f = md.panels
    return _at(carry.carry_signal(f["price"], f["carry"], f["price_contract"], f["carry_contract"], md.returns,
                                  smooth=p.smooth), rows)


def _vol_carry(md, p, rows):
    from macrostack.engines import carry
    f = md.panels
    is_vol = np.array([s in set(p.symbols) for s in md.symbols])
    return _at(carry.vol_carry_signal(f["price"], f["carry"], f["forward"], f["price_contract"], f["carry_contract"],
                                      f["forward_contract"], md.returns, is_vol, smooth=p.smooth), rows)


def _carry_lookback(p):
    from macrostack.engines import carry
    return carry.lookback(smooth=p.smooth)


def _vol_carry_lookback(p):
    from macrostack.engines import carry
    return carry.vol_carry_lookback(smooth=p.smooth)


def _vrp_core(md, p, rows):
    from macrostack.engines import vrp
    return _at(vrp.premium_panel(md, p, short_only=False), rows)


def _vrp_alt(md, p, rows):
    from macrostack.engines import vrp
    return _at(vrp.premium_panel(md, p, short_only=True), rows)


def _vrp_convergence(md, p, rows):
    from macrostack.engines import vrp
    return _at(vrp.convergence_panel(md, p), rows)


def _vrp_convergence_sign(md, p):
    from macrostack.engines import vrp
    return vrp.convergence_sign_weights(md, p)


def _vrp_lookback(p):
    from macrostack.engines import vrp
    return vrp.lookback(p)


def _vrp_inert(need_front: bool):
    def why(md, p):
        from macrostack.engines import vrp
        pairs = dict.fromkeys(p.vol_futures) if need_front else p.pairs
        return vrp.usable_pairs(md, pairs, need_front=need_front)[1]
    return why


def _curve_rv(md, p, rows):
    from macrostack.engines import curve_rv
    return _at(curve_rv.signal_panel(md, p), rows)


def _curve_rv_sign(md, p):
    from macrostack.engines import curve_rv
    return curve_rv.sign_panel(md, p)


def _curve_rv_lookback(p):
    from macrostack.engines import curve_rv
    return curve_rv.lookback(p)


def _curve_rv_inert(md, p):
    from macrostack.engines import curve_rv
    return curve_rv.why_inert(md, p)


CONTRACT_FIELDS = ("price", "carry", "price_contract", "carry_contract")
_IMPLIED = ("implied volatility = the front volatility future's price (index points = vol %): the dataset has no "
            "spot volatility index")

ENGINES: dict[str, Engine] = {
    "trend": Engine("trend", ("ret",), _trend, _trend_lookback),
    "ewmac": Engine("ewmac", ("ret",), _ewmac, _ewmac_lookback),
    "csmom": Engine("csmom", ("ret",), _csmom, _csmom_lookback),
    "carry": Engine("carry", CONTRACT_FIELDS, _carry, _carry_lookback),
    "vol_carry": Engine("vol_carry", CONTRACT_FIELDS + ("forward", "forward_contract"), _vol_carry,
                        _vol_carry_lookback),
    "vrp_core": Engine("vrp_core", CONTRACT_FIELDS, _vrp_core, _vrp_lookback, why_inert=_vrp_inert(False),
                       note=_IMPLIED + "; trades the held vol future (the dataset's roll)"),
    "vrp_alt": Engine("vrp_alt", CONTRACT_FIELDS, _vrp_alt, _vrp_lookback, why_inert=_vrp_inert(False),
                      note=_IMPLIED + "; trades the held vol future (the dataset's roll); short-only"),
    "vrp_convergence": Engine("vrp_convergence", CONTRACT_FIELDS, _vrp_convergence, _vrp_lookback, sizing="spread",
                              sign_weights=_vrp_convergence_sign, why_inert=_vrp_inert(True), uses_derived=True,
                              note="term slope front − second contract stands in for spot − front (no spot index); "
                                   "calendar spread <V>_FRONT = s, <V> = −s contracts; short-only"),
    "curve_rv": Engine("curve_rv", ("ret",), _curve_rv, _curve_rv_lookback, sizing="spread",
                       sign_weights=_curve_rv_sign, why_inert=_curve_rv_inert,
                       note="duration-neutral by trailing OLS hedge ratios of daily returns (hedge_window sessions)"),
}


def data_fields(engine_names) -> tuple[str, ...]:
    """The MarketData panels a set of engines needs (plus returns and costs)."""
    fields = {"ret", "cost"}
    for name in engine_names:
        fields.update(ENGINES[name].needs)
    return tuple(sorted(fields))
