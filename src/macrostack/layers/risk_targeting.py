"""Risk targeting (Layer 5): how big do I trade in normal conditions?

At each rebalance t (SYSTEM.md §5):
`u = w_pre / G(w_pre)`, `σ_u = sqrt(252 · uᵀ Σ_t u)` from the last `vol_lookback` sessions
of returns ending at t, `L = clip(target / max(σ_u, vol_floor), floor, cap)`, `w_rt = L · u`.
So `G(w_rt) = L` exactly, and where L is not clipped and σ_u >= vol_floor the ex-ante vol
of `w_rt` is the target exactly. Nothing after this layer renormalises.

Covariance estimators (returns missing inside the window count as 0):
- `sample`: `uᵀΣu` = sample variance (ddof=1) of the window's portfolio returns `R u`;
- `ewma`: zero-mean exponentially weighted variance of `R u`, weights `λ^age` normalised
  over the window;
- `ledoit_wolf`: `Σ = (1−δ) S + δ μ I` with S the (1/T) sample covariance, μ = tr(S)/N and
  the Ledoit–Wolf (2004) intensity δ = min(b̄², d²)/d², `d² = ‖S − μI‖²_F`,
  `b̄² = (Σ_t ‖x_t‖⁴ − T ‖S‖²_F) / T²`;
- `newey_west`: the sample estimator plus Bartlett-weighted autocovariances of the window's
  portfolio returns `p = R u` (`newey_west_variance`): the variance per session of a long
  holding period when daily P&L is serially correlated (a positive lag-1 autocorrelation
  makes the sample estimator understate weekly and monthly risk). Equal to `sample` with 0 lags.
  On the quadratic form this is exact for the matrix estimator `Γ₀ + Σ_k w_k (Γ_k + Γ_kᵀ)`,
  since `uᵀΓ_kᵀu = uᵀΓ_k u`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from macrostack.config import RiskTargetingConfig
from macrostack.data.calendar import SESSIONS_PER_YEAR

CHUNK = 256  # rebalances per Ledoit-Wolf block: bounds memory at CHUNK × lookback × N floats


def _windows(returns0: np.ndarray, rebalance_idx: np.ndarray, lookback: int) -> np.ndarray:
    """[R, lookback, N] trailing windows ending at each rebalance (returns already NaN → 0)."""
    starts = rebalance_idx - lookback + 1
    rows = starts[:, None] + np.arange(lookback)[None, :]
    return returns0[np.clip(rows, 0, None)]


def window_portfolio_returns(weight_sets: list[np.ndarray], returns0: np.ndarray, rebalance_idx: np.ndarray,
                             lookback: int) -> np.ndarray:
    """`p[k, j, l] = Σ_n r[t_j − lookback + 1 + l, n] · w_k[j, n]`: each weight set's returns over
    each rebalance's trailing window [K, R, lookback]; NaN where the window starts before session 0.

    A window is a contiguous slice of the (NaN → 0) returns, so each rebalance is one small
    matrix product `[lookback × N] @ [N × K]` on a view: nothing is gathered or copied.
    """
    w = np.stack([np.nan_to_num(x) for x in weight_sets], axis=2)  # [R, N, K], one block per rebalance
    out = np.full((len(rebalance_idx), lookback, len(weight_sets)), np.nan)
    for j, t in enumerate(rebalance_idx.tolist()):
        if t - lookback + 1 >= 0:
            np.matmul(returns0[t - lookback + 1: t + 1], w[j], out=out[j])
    return out.transpose(2, 0, 1)


def newey_west_variance(p: np.ndarray, lags: int) -> np.ndarray:
    """Newey–West (Bartlett) long-run variance along the last axis of `p` [..., T].

    `γ_k = Σ_{t=k}^{T−1} (p_t − p̄)(p_{t−k} − p̄) / (T − 1)`,
    `v = γ_0 + 2 Σ_{k=1}^{lags} (1 − k / (lags + 1)) γ_k`.
    With ddof = 1 in every γ_k, `lags = 0` is exactly the sample variance (ddof = 1), and the
    Bartlett weights keep v >= 0. Units: those of p squared, per session.
    """
    t = p.shape[-1]
    pc = p - p.mean(axis=-1, keepdims=True)
    var = (pc * pc).sum(axis=-1) / (t - 1)
    for k in range(1, lags + 1):
        gamma = (pc[..., k:] * pc[..., :-k]).sum(axis=-1) / (t - 1)
        var = var + 2.0 * (1.0 - k / (lags + 1)) * gamma
    return var


def portfolio_variance(weights: np.ndarray, returns: np.ndarray, rebalance_idx: np.ndarray,
                       lookback: int, estimator: str = "sample", ewma_lambda: float = 0.94,
                       newey_west_lags: int = 5, zero_filled: bool = False) -> np.ndarray:
    """Annualised ex-ante variance `252 · wᵀ Σ_t w` of each rebalance's weights [R].

    NaN where fewer than `lookback` sessions precede the rebalance. `zero_filled`: the
    returns' missing values are already 0 (saves a pass over the panel).
    """
    return portfolio_variances([weights], returns, rebalance_idx, lookback, estimator, ewma_lambda,
                               newey_west_lags, zero_filled)[0]


def portfolio_variances(weight_sets: list[np.ndarray], returns: np.ndarray, rebalance_idx: np.ndarray,
                        lookback: int, estimator: str = "sample", ewma_lambda: float = 0.94,
                        newey_west_lags: int = 5, zero_filled: bool = False) -> list[np.ndarray]:
    """`portfolio_variance` for several weight panels [R, N] at once: each window is read once."""
    returns0 = returns if zero_filled else np.where(np.isnan(returns), 0.0, returns)  # a missing return counts as 0
    rebalance_idx = np.asarray(rebalance_idx)
    if estimator in ("sample", "ewma", "newey_west"):
        p = window_portfolio_returns(weight_sets, returns0, rebalance_idx, lookback)  # [K, R, L]
        if estimator == "sample":
            var = p.var(axis=2, ddof=1)
        elif estimator == "newey_west":
            var = newey_west_variance(p, newey_west_lags)
        else:
            age_weights = ewma_lambda ** np.arange(lookback)[::-1]
            var = (p * p) @ (age_weights / age_weights.sum())
        outs = list(SESSIONS_PER_YEAR * var)
    elif estimator == "ledoit_wolf":
        outs = [np.full(len(rebalance_idx), np.nan) for _ in weight_sets]
        for lo in range(0, len(rebalance_idx), CHUNK):
            x = _windows(returns0, rebalance_idx[lo: lo + CHUNK], lookback)  # [r, T, N]
            for weights, out in zip(weight_sets, outs):
                out[lo: lo + CHUNK] = SESSIONS_PER_YEAR * _ledoit_wolf_quadratic(x, np.nan_to_num(weights[lo: lo + CHUNK]))
    else:  # config validation makes this unreachable
        raise ValueError(estimator)
    for out in outs:
        out[rebalance_idx - lookback + 1 < 0] = np.nan
    return outs


def _ledoit_wolf_quadratic(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """`wᵀ Σ_LW w` per window, x [r, T, N] (see module docstring)."""
    t, n = x.shape[1], x.shape[2]
    xc = x - x.mean(axis=1, keepdims=True)
    s = np.matmul(xc.transpose(0, 2, 1), xc) / t  # [r, N, N]
    mu = np.trace(s, axis1=1, axis2=2) / n
    s_fro2 = np.einsum("rij,rij->r", s, s)
    d2 = s_fro2 - 2 * mu * np.trace(s, axis1=1, axis2=2) + n * mu * mu  # ‖S − μI‖²
    row_norm2 = np.einsum("rti,rti->rt", xc, xc)
    b2_bar = (np.einsum("rt,rt->r", row_norm2, row_norm2) - t * s_fro2) / (t * t)
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(d2 > 0, np.minimum(b2_bar, d2) / d2, 1.0)
    quad_s = np.einsum("ri,rij,rj->r", w, s, w)
    return (1 - delta) * quad_s + delta * mu * np.einsum("ri,ri->r", w, w)


@dataclass(frozen=True)
class RiskTargetingResult:
    weights: np.ndarray      # w_rt [R, N]
    leverage: np.ndarray     # L [R] (NaN where w_pre is flat or vol not estimable)
    sigma_unit: np.ndarray   # σ_u [R], annualised vol of unit-gross weights
    ex_ante_vol: np.ndarray  # σ of w_rt = L σ_u [R]
    clipped: np.ndarray      # int8 [R]: −1 floor, +1 cap, 0 none

    def diagnostics(self) -> dict[str, np.ndarray]:
        return {"leverage": self.leverage, "sigma_unit": self.sigma_unit,
                "ex_ante_vol": self.ex_ante_vol, "clipped": self.clipped}


class RiskTargeting:
    """Scales unit-gross weights to the target volatility (one scalar per rebalance)."""

    def __init__(self, cfg: RiskTargetingConfig):
        self.cfg = cfg

    @property
    def lookback(self) -> int:
        return self.cfg.vol_lookback

    def apply(self, weights_pre: np.ndarray, returns: np.ndarray, rebalance_idx: np.ndarray,
              zero_filled: bool = False) -> RiskTargetingResult:
        """`w_rt` per rebalance (module docstring); `zero_filled`: as in `portfolio_variance`."""
        c = self.cfg
        gross = np.abs(weights_pre).sum(axis=1)
        active = gross > 0
        unit = np.zeros_like(weights_pre)
        unit[active] = weights_pre[active] / gross[active, None]
        var = portfolio_variance(unit, returns, rebalance_idx, c.vol_lookback, c.estimator, c.ewma_lambda,
                                 c.newey_west_lags, zero_filled)
        sigma_u = np.sqrt(var)
        raw = c.target_vol / np.maximum(sigma_u, c.vol_floor)
        leverage = np.clip(raw, c.leverage_floor, c.leverage_cap)
        ok = active & np.isfinite(leverage)
        leverage = np.where(ok, leverage, np.nan)
        clipped = np.where(ok & (raw < c.leverage_floor), -1, np.where(ok & (raw > c.leverage_cap), 1, 0)).astype(np.int8)
        weights = np.where(ok[:, None], unit * np.nan_to_num(leverage)[:, None], 0.0)
        return RiskTargetingResult(weights, leverage, np.where(ok, sigma_u, np.nan),
                                   np.where(ok, leverage * sigma_u, np.nan), clipped)
