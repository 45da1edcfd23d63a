"""Portfolio construction (Layer 3): what is the baseline composition?

Sleeves arrive at a common unit ex-ante risk, so mixing weights ω mean what they say:
`w_pre = Σ_k ω_k[t] · w_k[t]`. Methods (ω normalised to sum 1; a zero configured weight
drops the sleeve; configured weights act as budgets b_k):
- `static`: ω = b;
- `inverse_vol`: ω_k ∝ b_k / σ_k, σ_k the realised vol of sleeve k's standalone daily
  returns over the last `lookback` sessions up to t;
- `erc`: risk budgeting, ω_k (Σω)_k / (ωᵀΣω) = b_k (equal risk contributions when the
  budgets are equal), Σ the sleeves' return covariance over the same window.
Standalone sleeve returns use the sleeve's weights decided at earlier rebalances held from
the next session, so ω at t uses data <= t only. Until a sleeve has `lookback/2` sessions
of returns the static budgets are used. Construction never rescales the book: that is risk
targeting's job.
"""

from __future__ import annotations

import numpy as np

from macrostack.config import ConstructionConfig

ERC_ITERATIONS = 200


def mixing_weights(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items() if w > 0}


def standalone_returns(weights: np.ndarray, returns: np.ndarray, rebalance_idx: np.ndarray) -> np.ndarray:
    """Daily returns [T] of one sleeve's weights [R, N] held from the session after each rebalance."""
    t = returns.shape[0]
    period = np.searchsorted(rebalance_idx, np.arange(t), side="left") - 1  # last rebalance strictly before d
    held = np.where(period[:, None] >= 0, weights[np.clip(period, 0, None)], 0.0)
    out = np.einsum("dn,dn->d", held, np.nan_to_num(returns))
    out[period < 0] = np.nan
    return out


def _erc(cov: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Risk-budgeting weights for a batch of covariances [R, K, K] (fixed-point iteration)."""
    w = np.broadcast_to(budget, cov.shape[:2]).copy()
    for _ in range(ERC_ITERATIONS):
        marginal = np.einsum("rij,rj->ri", cov, w)
        total = np.einsum("ri,ri->r", w, marginal)[:, None]
        contrib = w * marginal / total
        w = w * np.sqrt(budget / np.maximum(contrib, 1e-300))
        w /= w.sum(axis=1, keepdims=True)
    return w


def mixing_panel(cfg: ConstructionConfig, budgets: dict[str, float], sleeves: dict[str, np.ndarray],
                 returns: np.ndarray, rebalance_idx: np.ndarray) -> dict[str, np.ndarray]:
    """ω_k per rebalance [R] for each sleeve with a positive budget."""
    b = mixing_weights({k: budgets[k] for k in sleeves})
    names = list(b)
    n_reb = len(rebalance_idx)
    static = {k: np.full(n_reb, b[k]) for k in names}
    if cfg.method == "static" or len(names) == 1:
        return static
    r = np.stack([standalone_returns(sleeves[k], returns, rebalance_idx) for k in names], axis=1)  # [T, K]
    lb = cfg.lookback
    rows = rebalance_idx[:, None] - np.arange(lb)[None, ::-1]          # windows ending at each rebalance
    win = r[np.clip(rows, 0, None)]
    win[rows < 0] = np.nan
    ready = (np.isfinite(win).sum(axis=1) >= lb // 2).all(axis=1)
    count = np.isfinite(win).sum(axis=1, keepdims=True)
    mean = np.nansum(win, axis=1, keepdims=True) / np.maximum(count, 1)
    x = np.nan_to_num(win - mean)
    budget = np.array([b[k] for k in names])
    if cfg.method == "inverse_vol":
        vol = np.sqrt((x * x).sum(axis=1) / np.maximum(np.isfinite(win).sum(axis=1) - 1, 1))
        raw = np.where(vol > 0, budget / np.where(vol > 0, vol, 1.0), 0.0)
        omega = raw / np.where(raw.sum(axis=1, keepdims=True) > 0, raw.sum(axis=1, keepdims=True), 1.0)
    else:
        cov = np.einsum("rtk,rtl->rkl", x, x) / (lb - 1) + 1e-12 * np.eye(len(names))
        omega = _erc(cov, budget)
    omega = np.where(ready[:, None], omega, budget)
    return {k: omega[:, i] for i, k in enumerate(names)}
