"""Overfitting statistics: how much of the best backtest is luck? (RESEARCH.md, issue 9 item 4)

Small pure functions over daily NET return series (fractions of NAV, one value per session,
the P&L contract's `p`). Conventions:

- Sharpe ratios inside PSR / DSR / PBO are PER PERIOD (per session, not annualised):
  `SR = mean(r) / std(r, ddof=1)` = `metrics.sharpe(r, ppy=1)`. The papers' formulas are
  written for per-period ratios; annualise a result with `* sqrt(ppy)` for display only.
- Skewness γ₃ and kurtosis γ₄ are the sample moments the papers use (`m3 / m2^1.5`,
  `m4 / m2^2`, `m_k = mean((r - mean r)^k)`, as `scipy.stats.skew` / `kurtosis(fisher=False)`
  with their defaults). γ₄ is the kurtosis, NOT the excess kurtosis: 3 for a normal law.
  (`metrics.skew` is the bias-corrected G1 for reports; the two differ by ~1.5/n.)
- Φ is `statistics.NormalDist` (stdlib; scipy is not a dependency).
- Undefined results are NaN, never an exception; bad parameters raise `InputError`.
"""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist
from typing import Callable, NamedTuple, Sequence

import numpy as np
import pandas as pd

from macrostack import metrics, periods
from macrostack.errors import InputError

__all__ = [
    "EULER_GAMMA", "SharpeMoments", "Trials", "DeflatedSharpe", "PBOResult", "BootstrapCI",
    "SubPeriods", "norm_cdf", "norm_ppf", "sharpe_moments", "probabilistic_sharpe",
    "expected_max_sharpe", "deflated_sharpe", "pbo_cscv", "stationary_bootstrap_indices",
    "stationary_bootstrap", "sharpe_drawdown_ci", "sub_period_sharpes",
]

EULER_GAMMA = 0.5772156649015329  # Euler–Mascheroni constant γ
_NORMAL = NormalDist()
_NAN = float("nan")
_BOOT_CELLS = 2_000_000  # resampled indices generated at once (bounds the bootstrap's memory)
_PBO_CHUNK = 512  # CSCV combinations scored at once (bounds PBO's memory at chunk × N)


def norm_cdf(z: float) -> float:
    """Standard normal CDF Φ(z) = (1 + erf(z / √2)) / 2, via `erfc` for accuracy in the left tail."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """Standard normal quantile Φ⁻¹(p), p in (0, 1) (stdlib `NormalDist.inv_cdf`, Wichura's
    AS241, ~1e-16 relative). ±inf at p = 1 / 0."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return _NORMAL.inv_cdf(p)


# --------------------------------------------------------------------------- PSR / DSR


class SharpeMoments(NamedTuple):
    """What PSR needs of a return series: per-period Sharpe `sr`, observations `n_obs`,
    skewness `skew` (γ₃) and kurtosis `kurtosis` (γ₄, not excess; 3 for a normal law)."""

    sr: float
    n_obs: int
    skew: float = 0.0
    kurtosis: float = 3.0


class Trials(NamedTuple):
    """The trials behind a selection when their Sharpe ratios are not at hand: the variance
    of their per-period Sharpe ratios V[SRₙ] and how many (independent) trials N there were."""

    sr_variance: float
    n_trials: int


def sharpe_moments(returns) -> SharpeMoments:
    """Per-period Sharpe (`metrics.sharpe(r, 1)`), n, skewness `m3/m2^1.5` and kurtosis
    `m4/m2^2` of a 1-D return series. NaN moments if n < 2 or the series is constant."""
    x = np.asarray(returns, dtype=np.float64).ravel()
    sr = metrics.sharpe(x, 1.0) if x.size >= 2 else _NAN
    if x.size < 2 or x.max() == x.min():
        return SharpeMoments(sr, int(x.size), _NAN, _NAN)
    d = x - x.mean()
    z = d / math.sqrt(float((d * d).mean()))  # standardise first (tiny returns underflow m2^2)
    z2 = z * z
    return SharpeMoments(sr, int(x.size), float((z2 * z).mean()), float((z2 * z2).mean()))


def _moments(x) -> SharpeMoments:
    return x if isinstance(x, SharpeMoments) else sharpe_moments(x)


def probabilistic_sharpe(returns, sr_benchmark: float = 0.0) -> float:
    """Probabilistic Sharpe Ratio: the probability that the true Sharpe exceeds `sr_benchmark`.

        PSR(SR*) = Φ( (SR − SR*) · √(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4 · SR²) )

    Bailey, D. H. & López de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier",
    Journal of Risk 15(2), eq. (7)–(11). `returns`: a 1-D per-period return series, or a
    `SharpeMoments(sr, n_obs, skew, kurtosis)`; SR and SR* per period, γ₄ the kurtosis (not
    excess). The denominator is `≥ (1 − γ₃·SR/2)² ≥ 0` for any real law (γ₄ ≥ 1 + γ₃²).
    PSR rises with SR wherever `1 − γ₃(SR + SR*)/2 + (γ₄ − 1)/4·SR·SR* > 0`, which holds for
    realistic per-period Sharpe ratios (|SR| ≪ 1). NaN if T < 2, a moment is NaN, or the
    denominator is not > 0.
    """
    m = _moments(returns)
    if m.n_obs < 2:
        return _NAN
    var = 1.0 - m.skew * m.sr + (m.kurtosis - 1.0) / 4.0 * m.sr * m.sr
    if not var > 0.0:  # also False for NaN
        return _NAN
    return norm_cdf((m.sr - sr_benchmark) * math.sqrt(m.n_obs - 1.0) / math.sqrt(var))


def expected_max_sharpe(sr_variance: float, n_trials: int) -> float:
    """Expected maximum Sharpe ratio of N unskilled trials (true SR 0), the DSR's benchmark:

        SR₀ = √V[SRₙ] · ( (1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)) ),  γ = 0.5772… (Euler)

    Bailey, D. H. & López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for
    Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management
    40(5), eq. (2) (the false strategy theorem's approximation of E[max] of N normals).
    `sr_variance`: variance of the trials' Sharpe ratios (per period² if they are per
    period). One trial: 0.0 (nothing was selected). NaN if the variance is NaN.
    """
    n = int(n_trials)
    if n < 1 or n != n_trials:
        raise InputError(f"n_trials must be a whole number >= 1, got {n_trials!r}", "n_trials",
                         "count every configuration that was tried")
    if not sr_variance >= 0.0:
        if math.isnan(sr_variance):
            return _NAN
        raise InputError(f"sr_variance must be >= 0, got {sr_variance!r}", "sr_variance",
                         "pass the variance of the trials' Sharpe ratios")
    if n == 1:
        return 0.0
    g = EULER_GAMMA
    return math.sqrt(sr_variance) * ((1.0 - g) * norm_ppf(1.0 - 1.0 / n) + g * norm_ppf(1.0 - 1.0 / (n * math.e)))


class DeflatedSharpe(NamedTuple):
    """DSR and its evidence: `dsr` = PSR(sr0); `sr`, `n_obs`, `skew`, `kurtosis` of the
    selected series; `sr0` the expected max Sharpe of `n_trials` unskilled trials whose
    Sharpe ratios have variance `sr_variance`; `psr0` = PSR(0), the same series unselected.
    All Sharpe ratios per period."""

    dsr: float
    sr: float
    sr0: float
    psr0: float
    n_obs: int
    skew: float
    kurtosis: float
    n_trials: int
    sr_variance: float


def deflated_sharpe(best_returns, trials) -> DeflatedSharpe:
    """Deflated Sharpe Ratio of the selected (best) trial: DSR = PSR(SR₀), SR₀ =
    `expected_max_sharpe(V[SRₙ], N)`:

        DSR = Φ( (SR − SR₀) · √(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4 · SR²) )

    Bailey & López de Prado (2014), eq. (1)–(2) (reference in `expected_max_sharpe`).
    `best_returns`: the selected trial's per-period returns, or its `SharpeMoments`.
    `trials`: the per-period Sharpe ratios of ALL N trials (the best included) as a list,
    array or Series, from which V[SRₙ] = var(ddof=1) and N = their count (NaN ratios of
    failed or flat trials are left out); or a tuple `(sr_variance, n_trials)` / `Trials`.
    N should count independent trials (correlated variants overstate N; not corrected
    here). DSR ≤ PSR(0) whenever N ≥ 2 (SR₀ ≥ 0).
    """
    m = _moments(best_returns)
    if isinstance(trials, tuple):  # (sr_variance, n_trials); a list / array holds trial Sharpes
        trials = Trials(*trials)
    else:
        srs = np.asarray(trials, dtype=np.float64).ravel()
        srs = srs[np.isfinite(srs)]
        if srs.size == 0:
            raise InputError("no finite trial Sharpe ratio", "trials", "pass the Sharpe ratio of every trial")
        trials = Trials(float(srs.var(ddof=1)) if srs.size > 1 else 0.0, int(srs.size))
    sr0 = expected_max_sharpe(trials.sr_variance, trials.n_trials)
    return DeflatedSharpe(probabilistic_sharpe(m, sr0), m.sr, sr0, probabilistic_sharpe(m, 0.0), m.n_obs,
                          m.skew, m.kurtosis, trials.n_trials, trials.sr_variance)


# --------------------------------------------------------------------------- PBO by CSCV


class PBOResult(NamedTuple):
    """Probability of backtest overfitting and its evidence, one entry per CSCV combination.

    pbo: share of combinations whose logit λ ≤ 0 (the in-sample best ranks in the bottom half
    out of sample). logits λ [K]; chosen [K]: column picked in sample; is_sharpe / oos_sharpe
    [K]: its in- and out-of-sample metric (per-period Sharpe by default); slope, intercept:
    OLS fit `oos = intercept + slope · is` (degradation: slope < 0 = in-sample winners do
    worse out of sample); prob_oos_loss: share with oos metric < 0; n_blocks S, n_combinations
    K = C(S, S/2). Read the slope with the PBO: the two halves are complements, so when one
    point is chosen throughout, its in- and out-of-sample Sharpe add up to roughly its full
    sample's and the slope is near −1 even for a genuine edge (default data, 45 late-layer
    points of `core`: PBO 0.06, slope −0.99).
    """

    pbo: float
    logits: np.ndarray
    chosen: np.ndarray
    is_sharpe: np.ndarray
    oos_sharpe: np.ndarray
    slope: float
    intercept: float
    prob_oos_loss: float
    n_blocks: int
    n_combinations: int


def _matrix(returns_matrix, name: str = "returns_matrix") -> np.ndarray:
    x = np.asarray(returns_matrix, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"{name} must be 2-D (sessions × points), got shape {x.shape}", name,
                         "pass one column per point and one row per session")
    if not np.isfinite(x).all():
        row, col = (int(i[0]) for i in np.nonzero(~np.isfinite(x)))
        raise InputError(f"{name} is not finite at row {row}, column {col}", name,
                         "compare the points over their common period (research.robustness.common_period)"
                         " and drop failed points")
    return x


def dated_matrix(returns_matrix, dates) -> tuple[list | None, np.ndarray, np.ndarray]:
    """(column labels or None, the [T, N] float64 matrix, the T session days), checked to match."""
    labels = list(returns_matrix.columns) if isinstance(returns_matrix, pd.DataFrame) else None
    x = _matrix(returns_matrix)
    days = np.asarray(dates).astype("datetime64[D]")
    if days.shape != (x.shape[0],):
        raise InputError(f"dates has shape {days.shape}, the returns have {x.shape[0]} rows", "dates",
                         "pass one date per row of the returns")
    return labels, x, days


def _block_edges(n_rows: int, n_blocks: int) -> np.ndarray:
    """Row edges [S + 1] of S contiguous blocks whose sizes differ by at most one row."""
    return np.linspace(0, n_rows, n_blocks + 1).round().astype(np.int64)


def _halves(n_blocks: int) -> np.ndarray:
    """Membership [K, S] (bool) of every choice of S/2 blocks as the in-sample half."""
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)), dtype=np.int64)
    member = np.zeros((combos.shape[0], n_blocks), dtype=bool)
    member[np.arange(combos.shape[0])[:, None], combos] = True
    return member


def _sharpe_from_sums(count, total, squares, shift) -> np.ndarray:
    """Per-period Sharpe from (centred) sums: mean = total/n + shift, var = (squares −
    total²/n)/(n − 1). count [K, 1]; total, squares [K, N]; NaN where var ≤ 0."""
    var = (squares - total * total / count) / (count - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (total / count + shift) / np.sqrt(var)
    out[~(var > 0.0)] = np.nan
    return out


def _cscv_sharpes(x: np.ndarray, edges: np.ndarray, member: np.ndarray):
    """Yield (in-sample, out-of-sample) per-period Sharpe [k, N] for chunks of combinations.

    Per-block row counts, sums and sums of squares (of columns centred on their full-sample
    mean, so the variance does not cancel catastrophically) make each half's Sharpe two
    small matrix products: `member @ block_sums`.
    """
    shift = x.mean(axis=0)
    xc = x - shift
    counts = np.diff(edges).astype(np.float64)
    sums = np.add.reduceat(xc, edges[:-1], axis=0)
    squares = np.add.reduceat(xc * xc, edges[:-1], axis=0)
    total_n, total_s, total_q = counts.sum(), sums.sum(axis=0), squares.sum(axis=0)
    for lo in range(0, member.shape[0], _PBO_CHUNK):
        m = member[lo:lo + _PBO_CHUNK].astype(np.float64)
        n_is = (m @ counts)[:, None]
        s_is, q_is = m @ sums, m @ squares
        yield (_sharpe_from_sums(n_is, s_is, q_is, shift),
               _sharpe_from_sums(total_n - n_is, total_s - s_is, total_q - q_is, shift))


def _cscv_generic(x: np.ndarray, edges: np.ndarray, member: np.ndarray, metric: Callable):
    """Yield (in-sample, out-of-sample) `metric(rows) -> [N]` one combination at a time (slow)."""
    blocks = [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:])]
    for row in member:
        rows_is = np.concatenate([blocks[i] for i in np.flatnonzero(row)])
        rows_oos = np.concatenate([blocks[i] for i in np.flatnonzero(~row)])
        yield (np.asarray(metric(x[rows_is]), dtype=np.float64)[None, :],
               np.asarray(metric(x[rows_oos]), dtype=np.float64)[None, :])


def _ols(xv: np.ndarray, yv: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(xv) & np.isfinite(yv)
    xv, yv = xv[ok], yv[ok]
    if xv.size < 2 or not np.ptp(xv) > 0.0:
        return _NAN, _NAN
    dx = xv - xv.mean()
    slope = float((dx * (yv - yv.mean())).sum() / (dx * dx).sum())
    return slope, float(yv.mean() - slope * xv.mean())


def pbo_cscv(returns_matrix, n_blocks: int = 16, metric: str | Callable = "sharpe") -> PBOResult:
    """Probability of Backtest Overfitting by combinatorially symmetric cross-validation.

    Bailey, D. H., Borwein, J., López de Prado, M. & Zhu, Q. J. (2017, SSRN 2014/2015),
    "The Probability of Backtest Overfitting", Journal of Computational Finance 20(4), §2:
    split the T × N matrix (sessions × points) into S contiguous row blocks (S even; sizes
    differ by at most one row). For each of the K = C(S, S/2) choices of S/2 blocks as the
    in-sample half J (the other half J̄ out of sample):
      n* = argmax_n metric(J)_n                   (ties: the lowest column)
      ω  = rank of metric(J̄)_{n*} among the N out-of-sample metrics / (N + 1),
           rank 1 = worst … N = best, ties sharing their average rank
      λ  = ln(ω / (1 − ω))
    PBO = #{λ ≤ 0} / K. Also returned: each n*'s in- and out-of-sample metric and the OLS
    slope of out- on in-sample (the performance degradation, §2.3).

    metric: "sharpe" (per-period Sharpe, vectorised over all combinations from per-block
    sums: C(16, 8) = 12,870 combinations of a 17,000 × 1,000 matrix take about a second), or
    a callable `rows [t, N] -> [N]` evaluated on each half (one call per half; slow). NaN
    metrics rank below every number and are never chosen while a number exists.
    """
    x = _matrix(returns_matrix)
    n_rows, n_cols = x.shape
    if not (isinstance(n_blocks, (int, np.integer)) and n_blocks >= 2 and n_blocks % 2 == 0):
        raise InputError(f"n_blocks must be an even whole number >= 2, got {n_blocks!r}", "n_blocks",
                         "use 16 (the paper's choice) or another even number")
    if n_rows < 2 * n_blocks:
        raise InputError(f"{n_rows} sessions cannot fill {n_blocks} blocks of at least 2 sessions", "n_blocks",
                         "use fewer blocks or a longer history")
    if n_cols < 2:
        raise InputError(f"PBO needs at least 2 points to choose from, got {n_cols}", "returns_matrix",
                         "pass the returns of every point of the sweep")
    edges, member = _block_edges(n_rows, int(n_blocks)), _halves(int(n_blocks))
    if metric == "sharpe":
        pairs = _cscv_sharpes(x, edges, member)
    elif callable(metric):
        pairs = _cscv_generic(x, edges, member, metric)
    else:
        raise InputError(f"unknown metric {metric!r}", "metric", "use 'sharpe' or a function rows -> one value per point")

    chosen, is_best, oos_best, logits = [], [], [], []
    for score_is, score_oos in pairs:
        score_is = np.where(np.isnan(score_is), -np.inf, score_is)
        score_oos = np.where(np.isnan(score_oos), -np.inf, score_oos)
        k = np.arange(score_is.shape[0])
        best = np.argmax(score_is, axis=1)
        picked = score_oos[k, best][:, None]
        rank = (score_oos < picked).sum(axis=1) + ((score_oos == picked).sum(axis=1) + 1) / 2.0
        omega = rank / (n_cols + 1.0)
        chosen.append(best)
        is_best.append(score_is[k, best])
        oos_best.append(picked[:, 0])
        logits.append(np.log(omega / (1.0 - omega)))
    logits_, is_, oos_ = np.concatenate(logits), np.concatenate(is_best), np.concatenate(oos_best)
    is_[np.isinf(is_)] = np.nan
    oos_[np.isinf(oos_)] = np.nan
    slope, intercept = _ols(is_, oos_)
    with np.errstate(invalid="ignore"):
        loss = float(np.mean(oos_[np.isfinite(oos_)] < 0.0)) if np.isfinite(oos_).any() else _NAN
    return PBOResult(float(np.mean(logits_ <= 0.0)), logits_, np.concatenate(chosen), is_, oos_, slope, intercept,
                     loss, int(n_blocks), int(member.shape[0]))


# --------------------------------------------------------------------------- stationary bootstrap


def stationary_bootstrap_indices(n: int, n_boot: int, mean_block: float, rng: np.random.Generator) -> np.ndarray:
    """Resampled row indices [n_boot, n] of the stationary bootstrap (Politis & Romano 1994).

    Each resample starts a block at a uniform random row; every next row either starts a new
    block (probability p = 1 / mean_block, at a new uniform random row) or continues the
    current block with the next row, wrapping circularly from row n − 1 to row 0. Block
    lengths are geometric with mean `mean_block`. Vectorised: the start of the block
    covering position t is the last "new block" flag at or before t (a running maximum).
    """
    t = np.arange(n)
    new = rng.random((n_boot, n)) < 1.0 / mean_block
    new[:, 0] = True
    starts = rng.integers(0, n, size=(n_boot, n))
    last = np.maximum.accumulate(np.where(new, t, 0), axis=1)
    return (np.take_along_axis(starts, last, axis=1) + (t - last)) % n


class BootstrapCI(NamedTuple):
    """Percentile interval of a statistic: `estimate` on the original series, `lo` / `hi`
    the (1 − level)/2 and (1 + level)/2 percentiles of the `samples` [n_boot] (or [n_boot,
    k] for k statistics; then estimate, lo, hi are arrays [k])."""

    estimate: float | np.ndarray
    lo: float | np.ndarray
    hi: float | np.ndarray
    level: float
    samples: np.ndarray


def stationary_bootstrap(returns, stat_fn: Callable, n_boot: int = 1000, mean_block: float = 21.0,
                         seed: int = 0, level: float = 0.95) -> BootstrapCI:
    """Stationary block bootstrap percentile interval of `stat_fn(returns)`.

    Politis, D. N. & Romano, J. P. (1994), "The Stationary Bootstrap", Journal of the
    American Statistical Association 89(428), 1303–1313. Resamples keep runs of consecutive
    sessions (mean length `mean_block`, default ~ one month of sessions) so volatility
    clustering and autocorrelation survive, and the resampled series are stationary.
    `stat_fn`: a 1-D series -> a float (or a 1-D array of k statistics), e.g.
    `lambda r: metrics.sharpe(r, ppy)`. Seeded with `numpy.random.default_rng(seed)`:
    the same inputs and seed give bit-identical samples. Percentiles ignore NaN samples.
    """
    x = np.asarray(returns, dtype=np.float64).ravel()
    if x.size < 2 or not np.isfinite(x).all():
        raise InputError("returns must hold at least 2 finite values", "returns", "pass a finite daily return series")
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 1):
        raise InputError(f"n_boot must be a whole number >= 1, got {n_boot!r}", "n_boot", "use e.g. 1000")
    if not mean_block >= 1.0:
        raise InputError(f"mean_block must be >= 1 session, got {mean_block!r}", "mean_block", "use e.g. 21 (a month)")
    if not 0.0 < level < 1.0:
        raise InputError(f"level must be in (0, 1), got {level!r}", "level", "use e.g. 0.95")
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOT_CELLS // x.size)
    samples = []
    for lo in range(0, n_boot, chunk):
        idx = stationary_bootstrap_indices(x.size, min(chunk, n_boot - lo), mean_block, rng)
        samples.extend(np.asarray(stat_fn(x[row]), dtype=np.float64) for row in idx)
    samples_ = np.array(samples)
    q = np.nanpercentile(samples_, [50.0 * (1.0 - level), 50.0 * (1.0 + level)], axis=0)
    est = np.asarray(stat_fn(x), dtype=np.float64)
    if samples_.ndim == 1:
        return BootstrapCI(float(est), float(q[0]), float(q[1]), level, samples_)
    return BootstrapCI(est, q[0], q[1], level, samples_)


def sharpe_drawdown_ci(returns, ppy: float, n_boot: int = 1000, mean_block: float = 21.0, seed: int = 0,
                       level: float = 0.95) -> dict[str, BootstrapCI]:
    """Stationary-bootstrap intervals of the annualised Sharpe (`metrics.sharpe(r, ppy)`) and the
    max drawdown (`metrics.max_drawdown`, ≤ 0) of one series, from the same resamples."""
    both = stationary_bootstrap(returns, lambda r: (metrics.sharpe(r, ppy), metrics.max_drawdown(r)),
                                n_boot, mean_block, seed, level)
    return {name: BootstrapCI(float(both.estimate[i]), float(both.lo[i]), float(both.hi[i]), level,
                              both.samples[:, i]) for i, name in enumerate(("sharpe", "max_drawdown"))}


# --------------------------------------------------------------------------- sub-periods


class SubPeriods(NamedTuple):
    """`table`: one row per point, one column per window ("full period", then each decade or
    each user split), annualised Sharpe (`metrics.sharpe` with the whole run's ppy).
    `windows`: the `periods.Window` of each column (dates `lo:hi`, partial decades flagged)."""

    table: pd.DataFrame
    windows: list


def sub_period_sharpes(returns_matrix, dates, splits: Sequence | None = None, ppy: float | None = None) -> SubPeriods:
    """Each point's annualised Sharpe over the full period and each calendar decade (or each
    window between the user's `splits` dates), the windows of `periods.decade_windows` /
    `periods.split_windows`. A `pandas.DataFrame` input keeps its column labels as the row
    index. ppy: sessions per year; None = `metrics.periods_per_year(dates)` of the whole run,
    so every window is annualised alike (as the run's own sub-period table).
    """
    labels, x, days = dated_matrix(returns_matrix, dates)
    ppy = metrics.periods_per_year(days) if ppy is None else float(ppy)
    windows = [periods.Window("full period", "full", 0, days.size)]
    windows += periods.split_windows(days, splits) if splits else periods.decade_windows(days)
    columns = np.ascontiguousarray(x.T)  # one contiguous row per point
    table = pd.DataFrame({w.label: [metrics.sharpe(c[w.lo:w.hi], ppy) for c in columns] for w in windows},
                         index=pd.Index(labels if labels is not None else range(x.shape[1]), name="point"))
    return SubPeriods(table, windows)
