"""A sweep's robustness: DSR of the best point, PBO, bootstrap intervals, sub-period Sharpes.

Glue between a sweep's returns (sessions × points, `results.read_returns`) and the pure
statistics of `research.stats`, producing the dict `research.report.robustness_sections`
shows. Every point is compared on the SAME sessions: the common period from the first
session on which every point has a return (a sweep's returns are NaN before a point's ready
period; points with longer look-backs start later).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from macrostack import metrics
from macrostack.errors import InputError
from macrostack.research import stats

__all__ = ["common_period", "robustness"]


def common_period(returns: pd.DataFrame) -> pd.DataFrame:
    """The rows from the first session on which every point has a finite return to the end.

    returns: sessions × points (DatetimeIndex). A point with no return at all is dropped (a
    failed point). A NaN after that first common session (a hole, not a late start) is bad
    input: InputError.
    """
    frame = returns.loc[:, returns.notna().any()]
    if frame.shape[1] == 0:
        raise InputError("no point has any return", "returns", "run the sweep (or wait for points to finish)")
    ready = frame.notna().all(axis=1).to_numpy()
    if not ready.any():
        raise InputError("the points have no session in common", "returns", "compare points with overlapping histories")
    common = frame.iloc[int(np.argmax(ready)):]
    if common.isna().to_numpy().any():
        col = common.columns[common.isna().any().to_numpy()][0]
        raise InputError(f"point {col} has a missing return after the common start {common.index[0].date()}",
                         "returns", "re-run that point; a finished point has a return every session once ready")
    return common


def _fmt(value: float, digits: int = 3) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def robustness(returns: pd.DataFrame, n_blocks: int = 16, top: int = 10, splits=None, n_boot: int = 1000,
               seed: int = 0) -> dict:
    """DSR of the best point, PBO by CSCV, the best point's bootstrap intervals and the top
    points' Sharpe per sub-period, over the common period of `returns` (sessions × points).

    Returns a dict: dsr, pbo, logits (the CSCV λ), evidence (quantity -> formatted value, for
    the report), sub_periods (top points × windows, annualised Sharpe), note, and the full
    results: deflated (`stats.DeflatedSharpe`), cscv (`stats.PBOResult`), bootstrap ({"sharpe",
    "max_drawdown"}: `stats.BootstrapCI`), best (the best point's label), ppy, first, last.
    Sharpe ratios in the evidence are annualised (per-period × √ppy); DSR / PSR use per-period.
    """
    frame = common_period(returns)
    x = frame.to_numpy(dtype=np.float64)
    dates = frame.index.to_numpy().astype("datetime64[D]")
    ppy = metrics.periods_per_year(dates)
    trial_srs = np.array([metrics.sharpe(col, 1.0) for col in np.ascontiguousarray(x.T)])
    if not np.isfinite(trial_srs).any():
        raise InputError("no point has a defined Sharpe ratio over the common period", "returns",
                         "check the points' returns: every one is flat")
    best = int(np.nanargmax(trial_srs))
    deflated = stats.deflated_sharpe(x[:, best], trial_srs)
    cscv = stats.pbo_cscv(x, n_blocks=n_blocks) if x.shape[1] >= 2 else None
    boot = stats.sharpe_drawdown_ci(x[:, best], ppy, n_boot=n_boot, seed=seed)
    order = np.argsort(-np.where(np.isfinite(trial_srs), trial_srs, -np.inf), kind="stable")[:top]
    sub = stats.sub_period_sharpes(frame.iloc[:, order], dates, splits=splits, ppy=ppy).table
    root = math.sqrt(ppy)
    evidence = {
        "points (trials N)": f"{deflated.n_trials:,}",
        "common period": f"{frame.index[0].date()} – {frame.index[-1].date()} ({len(frame):,} sessions)",
        "best point": str(frame.columns[best]),
        "best Sharpe (annualised)": _fmt(deflated.sr * root, 2),
        "its 95% interval (stationary bootstrap)": f"{_fmt(boot['sharpe'].lo, 2)} to {_fmt(boot['sharpe'].hi, 2)}",
        "its max drawdown, 95% interval": f"{_fmt(boot['max_drawdown'].lo * 100, 1)}% to "
                                          f"{_fmt(boot['max_drawdown'].hi * 100, 1)}%",
        "skewness / kurtosis of the best": f"{_fmt(deflated.skew, 2)} / {_fmt(deflated.kurtosis, 2)}",
        "std of the trials' Sharpe (annualised)": _fmt(math.sqrt(deflated.sr_variance) * root, 3),
        "expected best of N unskilled trials, SR0 (annualised)": _fmt(deflated.sr0 * root, 2),
        "PSR(0) of the best, ignoring selection": _fmt(deflated.psr0, 3),
        "deflated Sharpe (DSR = PSR(SR0))": _fmt(deflated.dsr, 3),
    }
    if cscv is not None:
        evidence |= {
            "PBO (CSCV)": _fmt(cscv.pbo, 3),
            "CSCV blocks / combinations": f"{cscv.n_blocks} / {cscv.n_combinations:,}",
            "degradation slope (OOS on IS Sharpe)": _fmt(cscv.slope, 2),
            "P(chosen point loses out of sample)": _fmt(cscv.prob_oos_loss, 3),
        }
    note = ("DSR: the probability that the best point's true Sharpe is above zero once the number of points tried "
            "and the spread of their Sharpe ratios are accounted for (Bailey & López de Prado 2014). PBO: the share "
            "of the C(S, S/2) in-/out-of-sample splits in which the in-sample best ranks in the bottom half out of "
            "sample (Bailey, Borwein, López de Prado & Zhu 2015). The trials count as independent: near-duplicate "
            "points overstate N and so understate the DSR.")
    return {"dsr": deflated.dsr, "pbo": cscv.pbo if cscv is not None else float("nan"),
            "logits": cscv.logits if cscv is not None else None, "evidence": evidence, "sub_periods": sub,
            "note": note, "deflated": deflated, "cscv": cscv, "bootstrap": boot, "best": frame.columns[best],
            "ppy": ppy, "first": frame.index[0], "last": frame.index[-1]}
