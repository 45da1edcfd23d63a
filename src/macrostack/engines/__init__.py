"""Engines (Layer 1) by name: what each needs from the data, how long it warms up, its signal.

A sleeve whose data the dataset lacks is INERT: the run says which sleeve, which data is
missing and how to get it (or fails when the sleeve is `required`). Never a silent zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

    def missing_data(self, md: MarketData) -> list[str]:
        """Panels this engine needs that the loaded data lacks entirely."""
        return [f for f in self.needs if f not in md.panels or not np.isfinite(md.panels[f]).any()]


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
    return _at(ewmac.signal(md.returns, speeds=[tuple(s) for s in p.speeds], vol_span=p.vol_span,
                            forecast_cap=p.forecast_cap), rows)


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


CONTRACT_FIELDS = ("price", "carry", "price_contract", "carry_contract")

ENGINES: dict[str, Engine] = {
    "trend": Engine("trend", ("ret",), _trend, _trend_lookback),
    "ewmac": Engine("ewmac", ("ret",), _ewmac, _ewmac_lookback),
    "csmom": Engine("csmom", ("ret",), _csmom, _csmom_lookback),
    "carry": Engine("carry", CONTRACT_FIELDS, _carry, _carry_lookback),
    "vol_carry": Engine("vol_carry", CONTRACT_FIELDS + ("forward", "forward_contract"), _vol_carry,
                        _vol_carry_lookback),
}


def data_fields(engine_names) -> tuple[str, ...]:
    """The MarketData panels a set of engines needs (plus returns and costs)."""
    fields = {"ret", "cost"}
    for name in engine_names:
        fields.update(ENGINES[name].needs)
    return tuple(sorted(fields))
