"""Risk views: where does the book's risk, exposure, turnover and cost sit, by asset class and by sleeve?

Notional exposure says little about risk in a futures book (STIR and bond notionals dwarf
the rest at equal risk), so the book is split by ex-ante risk as well:

- Euler risk contributions. At rebalance t with covariance Σ_t (the run's risk-targeting
  estimator and lookback, annualised with 252 like RT) the book w has ex-ante vol
  `σ_p = sqrt(wᵀΣw)` and instrument i contributes `RC_i = w_i (Σw)_i / σ_p` (Σ_i RC_i = σ_p).
  A group g (an asset class; or a sleeve, whose weights are its own vector c_g with
  Σ_g c_g = w) contributes `RC_g = c_gᵀ Σ w / σ_p`, so `Σ_g RC_g = wᵀΣw / σ_p = σ_p` exactly
  whenever the groups' weight vectors add up to w. Each bilinear form `c_gᵀΣw` is computed
  from the window's group and book return series, never from an N×N matrix (except
  Ledoit–Wolf, whose shrinkage needs the sample matrix): for the sample estimator
  `c_gᵀ S w = cov(R c_g, R w)` (ddof 1), for EWMA `Σ_l a_l (R c_g)_l (R w)_l`, for Newey–West
  the Bartlett-weighted cross-autocovariances, for Ledoit–Wolf `(1−δ) c_gᵀSw + δ μ c_g·w`.
- Exposure: gross `Σ_{i∈g} |c_{g,i}|` and net `Σ_{i∈g} c_{g,i}` of each group (× NAV).
- Trading: the one-way turnover `Σ_i |Δw_i|` and cost `Σ_i k_i |Δw_i|` charged on the first
  session of each holding period (the P&L contract's trade). By asset class they are split
  by instrument; by sleeve by the signed shares of `attribution.attribute`
  (`sign(Δw_i) Δc_{k,i}`), so sleeves + residual = the book's turnover and cost exactly.

Units: risk contributions and σ_p in annualised vol (0.20 = 20 %); exposure, turnover in
multiples of NAV; costs as a fraction of NAV. Nothing here changes a weight or a P&L number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macrostack.data.calendar import SESSIONS_PER_YEAR
from macrostack.layers.risk_targeting import _windows, window_portfolio_returns
from macrostack.pnl import booked_returns, hold_factors, period_bounds

ASSET_CLASS, SLEEVE = "asset_class", "sleeve"
CHUNK = 256  # rebalances per Ledoit–Wolf block (memory: CHUNK × lookback × N floats)


# --------------------------------------------------------------------------- groups


def membership(labels, groups: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """The groups (first-seen order unless given) and the 0/1 membership matrix M [N, G] of `labels` [N]."""
    labels = [str(x) for x in labels]
    groups = list(dict.fromkeys(labels)) if groups is None else list(groups)
    pos = {g: j for j, g in enumerate(groups)}
    m = np.zeros((len(labels), len(groups)))
    m[np.arange(len(labels)), [pos[x] for x in labels]] = 1.0
    return groups, m


def split_by_class(weights: np.ndarray, m: np.ndarray) -> list[np.ndarray]:
    """Each group's part of `weights` [R, N]: `weights ⊙ M[:, g]` (the parts add up to `weights`)."""
    return [weights * m[:, g][None, :] for g in range(m.shape[1])]


# --------------------------------------------------------------------------- ex-ante risk


def _bartlett_cross(x: np.ndarray, y: np.ndarray, lags: int) -> np.ndarray:
    """Newey–West cross term along the last axis: `γ_0(x, y) + Σ_{k=1}^{lags} b_k (γ_k(x, y) + γ_k(y, x))`,
    `γ_k(x, y) = Σ_{t=k}^{T−1} (x_t − x̄)(y_{t−k} − ȳ) / (T − 1)`, `b_k = 1 − k/(lags + 1)`.
    With y = x it is `risk_targeting.newey_west_variance` (same arithmetic up to rounding)."""
    t = x.shape[-1]
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    out = (xc * yc).sum(axis=-1) / (t - 1)
    for k in range(1, lags + 1):
        cross = ((xc[..., k:] * yc[..., :-k]).sum(axis=-1) + (yc[..., k:] * xc[..., :-k]).sum(axis=-1)) / (t - 1)
        out = out + (1.0 - k / (lags + 1)) * cross
    return out


def bilinear_risk(parts: list[np.ndarray], book: np.ndarray, returns: np.ndarray, rebalance_idx: np.ndarray,
                  lookback: int, estimator: str = "sample", ewma_lambda: float = 0.94,
                  newey_west_lags: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """`252 · c_gᵀ Σ_t w` for each part c_g [R, N] against the book w [R, N], and `252 · wᵀ Σ_t w`.

    Σ_t is the risk-targeting covariance estimate at each rebalance (`layers.risk_targeting`:
    same estimators, windows of `lookback` sessions ending at the rebalance, missing returns 0).
    Returns (cross [G, R], variance [R]), annualised variance units; NaN where the window
    starts before session 0. One pass over the rebalances for all parts at once.
    """
    returns0 = np.where(np.isnan(returns), 0.0, returns)
    rebalance_idx = np.asarray(rebalance_idx)
    g = len(parts)
    if estimator in ("sample", "ewma", "newey_west"):
        p = window_portfolio_returns([*parts, book], returns0, rebalance_idx, lookback)  # [G+1, R, L]
        x, y = p[:g], p[g][None]
        if estimator == "sample":
            cross = _bartlett_cross(x, y, 0)
            var = _bartlett_cross(p[g], p[g], 0)
        elif estimator == "newey_west":
            cross = _bartlett_cross(x, y, newey_west_lags)
            var = _bartlett_cross(p[g], p[g], newey_west_lags)
        else:
            a = ewma_lambda ** np.arange(lookback)[::-1]
            a = a / a.sum()
            cross = (x * y) @ a
            var = (p[g] * p[g]) @ a
    elif estimator == "ledoit_wolf":
        cross = np.full((g, len(rebalance_idx)), np.nan)
        var = np.full(len(rebalance_idx), np.nan)
        for lo in range(0, len(rebalance_idx), CHUNK):
            sl = slice(lo, lo + CHUNK)
            x = _windows(returns0, rebalance_idx[sl], lookback)
            w = np.nan_to_num(book[sl])
            cs = np.stack([np.nan_to_num(c[sl]) for c in parts]) if g else np.zeros((0, *w.shape))
            cross[:, sl], var[sl] = _ledoit_wolf_bilinear(x, cs, w)
    else:
        raise ValueError(estimator)
    cross, var = SESSIONS_PER_YEAR * np.asarray(cross, dtype=float), SESSIONS_PER_YEAR * np.asarray(var, dtype=float)
    short = rebalance_idx - lookback + 1 < 0
    cross[:, short] = np.nan
    var[short] = np.nan
    return cross, var


def _ledoit_wolf_bilinear(x: np.ndarray, cs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`c_gᵀ Σ_LW w` [G, r] and `wᵀ Σ_LW w` [r] per window x [r, T, N] (`risk_targeting` docstring:
    `Σ_LW = (1−δ) S + δ μ I`, S the 1/T sample covariance)."""
    t, n = x.shape[1], x.shape[2]
    xc = x - x.mean(axis=1, keepdims=True)
    s = np.matmul(xc.transpose(0, 2, 1), xc) / t
    tr = np.trace(s, axis1=1, axis2=2)
    mu = tr / n
    s_fro2 = np.einsum("rij,rij->r", s, s)
    d2 = s_fro2 - 2 * mu * tr + n * mu * mu
    row_norm2 = np.einsum("rti,rti->rt", xc, xc)
    b2_bar = (np.einsum("rt,rt->r", row_norm2, row_norm2) - t * s_fro2) / (t * t)
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(d2 > 0, np.minimum(b2_bar, d2) / d2, 1.0)
    sw = np.einsum("rij,rj->ri", s, w)
    cross = (1 - delta) * np.einsum("gri,ri->gr", cs, sw) + delta * mu * np.einsum("gri,ri->gr", cs, w)
    var = (1 - delta) * np.einsum("ri,ri->r", w, sw) + delta * mu * np.einsum("ri,ri->r", w, w)
    return cross, var


def euler_contributions(cross: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Risk contributions `RC_g = c_gᵀΣw / σ_p` [G, R] and the book's ex-ante vol `σ_p = sqrt(wᵀΣw)` [R].

    cross [G, R] and var [R] from `bilinear_risk` (annualised). Σ_g RC_g = σ_p when the parts
    add up to the book. A flat book (σ_p = 0) contributes 0; NaN where Σ could not be estimated.
    """
    sigma = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        rc = np.where(sigma > 0, cross / sigma, np.where(np.isnan(sigma), np.nan, 0.0))
    return rc, sigma


# --------------------------------------------------------------------------- trading


def trade_deltas(w_exec: np.ndarray, parts: dict[str, np.ndarray], rebalance_idx: np.ndarray, returns: np.ndarray,
                 lag: int, holding: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The trades of each holding period (the P&L contract's): sessions [V], the book's Δw [V, N]
    (executed weights minus the weights held after the previous period's last return) and each
    part's Δc [V, N] on the same basis (`attribution.attribute`), for the V periods that hold a session."""
    r = booked_returns(returns)
    t, n = r.shape
    bounds = period_bounds(np.asarray(rebalance_idx), lag, t)
    end_factor = np.ones((len(bounds), n))
    if holding != "constant":
        for j, (a, b) in enumerate(bounds):
            if a < b:
                _, end_factor[j] = hold_factors(w_exec[j], r[a:b], holding)
    valid = np.flatnonzero(bounds[:, 0] < bounds[:, 1])
    prev = valid[:-1]

    def delta(w: np.ndarray) -> np.ndarray:
        before = np.zeros((len(valid), n))
        before[1:] = w[prev] * end_factor[prev]
        return w[valid] - before

    return bounds[valid, 0], delta(w_exec), {k: delta(c) for k, c in parts.items()}


def trading_by_group(book_delta: np.ndarray, part_deltas: dict[str, np.ndarray], costs_at_trade: np.ndarray,
                     m: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Turnover `Σ|Δw|` and cost `Σ k|Δw|` of each trade [V], by asset class and by part.

    book_delta [V, N]; part_deltas name → [V, N] (parts + residual add up to book_delta);
    costs_at_trade: k per unit notional on each trade's session [V, N] (missing = 0); m [N, G]
    class membership. By class: `Σ_{i∈g} |Δw_i|`, `Σ_{i∈g} k_i |Δw_i|`. By part: the signed
    shares `Σ_i sign(Δw_i) Δc_{k,i}` and `Σ_i k_i sign(Δw_i) Δc_{k,i}` (they add up to the book's).
    Returns {"turnover_class": [V, G], "cost_class": [V, G], "turnover_part": {k: [V]}, "cost_part": {k: [V]}}.
    """
    k = booked_returns(costs_at_trade)
    size = np.abs(book_delta)
    sign = np.sign(book_delta)
    return {"turnover_class": size @ m, "cost_class": (k * size) @ m,
            "turnover_part": {name: np.einsum("vn,vn->v", sign, d) for name, d in part_deltas.items()},
            "cost_part": {name: np.einsum("vn,vn->v", k * sign, d) for name, d in part_deltas.items()}}


# --------------------------------------------------------------------------- the run's views


def _long(dates, grouping: str, names: list[str], columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame date × group from [G, R] arrays."""
    g, r = len(names), len(dates)
    return pd.DataFrame({"date": np.tile(pd.to_datetime(dates).to_numpy(), g), "grouping": grouping,
                         "group": np.repeat(np.asarray(names, dtype=object), r),
                         **{c: np.asarray(v, dtype=float).reshape(-1) for c, v in columns.items()}})


def run_views(dates: np.ndarray, symbols, asset_classes: dict[str, str], w_exec: np.ndarray,
              sleeve_parts: dict[str, np.ndarray], rebalance_idx: np.ndarray, returns: np.ndarray,
              costs: np.ndarray, lag: int, holding: str, rt_cfg) -> dict[str, pd.DataFrame]:
    """The run's risk and trading tables (`layers/risk_contributions.parquet`, `layers/trading.parquet`).

    risk_contributions: per rebalance × group (grouping `asset_class` | `sleeve`): `risk` (Euler
    contribution, annualised vol; the groups of a grouping sum to the book's ex-ante vol),
    `gross`, `net` (exposure × NAV). Sleeve parts are `attribution.sleeve_contributions` plus the
    `residual` (w_exec − Σ parts), so they add up to the executed book.
    trading: per trade session × group: `turnover` (× NAV), `cost` (fraction of NAV).
    """
    classes, m = membership([asset_classes.get(s) or "Unknown" for s in symbols])
    parts = {**sleeve_parts, "residual": w_exec - sum(sleeve_parts.values())} if sleeve_parts else {}
    class_parts = split_by_class(w_exec, m)
    cross, var = bilinear_risk([*class_parts, *parts.values()], w_exec, returns, rebalance_idx, rt_cfg.vol_lookback,
                               rt_cfg.estimator, rt_cfg.ewma_lambda, rt_cfg.newey_west_lags)
    rc, _ = euler_contributions(cross, var)
    g = len(classes)
    reb_dates = np.asarray(dates)[rebalance_idx]
    risk = pd.concat([
        _long(reb_dates, ASSET_CLASS, classes, {"risk": rc[:g], "gross": (np.abs(w_exec) @ m).T, "net": (w_exec @ m).T}),
        _long(reb_dates, SLEEVE, list(parts), {"risk": rc[g:], "gross": np.stack([np.abs(c).sum(1) for c in parts.values()]),
                                               "net": np.stack([c.sum(1) for c in parts.values()])}) if parts else None,
    ], ignore_index=True)
    sessions, book_delta, part_deltas = trade_deltas(w_exec, parts, rebalance_idx, returns, lag, holding)
    tr = trading_by_group(book_delta, part_deltas, costs[sessions], m)
    trade_dates = np.asarray(dates)[sessions]
    trading = pd.concat([
        _long(trade_dates, ASSET_CLASS, classes, {"turnover": tr["turnover_class"].T, "cost": tr["cost_class"].T}),
        _long(trade_dates, SLEEVE, list(parts), {"turnover": np.stack(list(tr["turnover_part"].values())),
                                                 "cost": np.stack(list(tr["cost_part"].values()))}) if parts else None,
    ], ignore_index=True)
    return {"risk_contributions": risk, "trading": trading}


def latest_snapshot(risk: pd.DataFrame) -> dict:
    """The last rebalance with an estimate: {date, ex_ante_vol, asset_class|sleeve: {group: {risk, share, gross, net}}}.

    share = risk / ex-ante vol (the Euler shares sum to 1; a hedge has a negative share)."""
    ok = risk.dropna(subset=["risk"])
    if ok.empty:
        return {}
    last = ok["date"].max()
    rows = ok[ok["date"] == last]
    out: dict = {"date": str(pd.Timestamp(last).date())}
    for grouping, frame in rows.groupby("grouping", sort=False):
        total = float(frame["risk"].sum())
        out.setdefault("ex_ante_vol", total)
        out[grouping] = {r.group: {"risk": float(r.risk), "share": float(r.risk / total) if total > 0 else float("nan"),
                                   "gross": float(r.gross), "net": float(r.net)} for r in frame.itertuples()}
    return out


def average_shares(risk: pd.DataFrame, first) -> dict:
    """Mean over the rebalances from `first` on of each group's risk share (RC_g / σ_p) and gross exposure."""
    ok = risk[(pd.to_datetime(risk["date"]) >= pd.Timestamp(first))].dropna(subset=["risk"])
    if ok.empty:
        return {}
    total = ok.groupby(["grouping", "date"])["risk"].transform("sum")
    ok = ok.assign(share=np.where(total > 0, ok["risk"] / total, np.nan))
    mean = ok.groupby(["grouping", "group"], sort=False)[["share", "gross"]].mean()
    out: dict = {}
    for (grouping, group), r in mean.iterrows():
        out.setdefault(grouping, {})[group] = {"risk_share": float(r["share"]), "gross": float(r["gross"])}
    return out


def trading_per_year(trading: pd.DataFrame, first, ppy: float, n_sessions: int) -> dict:
    """Turnover and cost per year of each group over the ready period: Σ from `first` on / years,
    years = n_sessions / ppy (the convention of `metrics.per_year`)."""
    ok = trading[pd.to_datetime(trading["date"]) >= pd.Timestamp(first)]
    years = n_sessions / ppy if ppy and n_sessions else float("nan")
    out: dict = {}
    for (grouping, group), r in ok.groupby(["grouping", "group"], sort=False)[["turnover", "cost"]].sum().iterrows():
        out.setdefault(grouping, {})[group] = {"turnover": float(r["turnover"] / years), "cost": float(r["cost"] / years)}
    return out


def yearly_trading(trading: pd.DataFrame) -> pd.DataFrame:
    """Turnover and cost summed per calendar year: index (grouping, group), columns (turnover|cost, year)."""
    t = trading.assign(year=pd.to_datetime(trading["date"]).dt.year)
    return t.pivot_table(index=["grouping", "group"], columns="year", values=["turnover", "cost"], aggfunc="sum",
                         sort=False)
