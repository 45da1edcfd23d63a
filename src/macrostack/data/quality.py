"""Data-quality evidence: can these returns be trusted, instrument by instrument and era by era?

A backtest's headline is only as honest as the returns it is earned on. This module
measures, on each instrument's own bars (never filled, never resampled), four kinds of
evidence and turns them into flags a human can read and a run can weigh its P&L by:

1. Smoothed history (per instrument and calendar decade). A traded futures price is close
   to a martingale: daily returns have lag-1 autocorrelation `ρ₁ ≈ 0` and variance ratio
   `VR(q) ≈ 1`. Back-filled or reconstructed histories (averaged quotes, yields turned into
   prices, stale closes) are smoothed: `ρ₁ > 0` and `VR(q) > 1`, which understates risk and
   makes trend look better than it was. A decade of an instrument is `smoothed` when
   BOTH hold, each large economically AND statistically:
     `ρ₁ > max(SMOOTH_AC1, Z_MIN / √n)`  and  `VR(q) − 1 > max(SMOOTH_VR − 1, Z_MIN · se_VR(q, n))`
   with n the decade's returns (at least MIN_RETURNS), `se_VR(q, n) = √(2(2q−1)(q−1)/(3qn))`
   (Lo–MacKinlay, iid returns) and `Z_MIN = 3` standard errors. Thresholds: ρ₁ > 0.10 and
   VR(5) > 1.20 (≈ 5 standard errors at a full decade, n ≈ 2,600). Measured on the default
   dataset: median ρ₁ by decade 0.14 (1960s), 0.07, 0.04, 0.03, −0.01, 0.00 (2010s); median
   VR(5) 1.31, 1.21, 1.06, 1.03, 0.99, 0.99. Since 2000 only a few illiquid series pass
   both (CUA, LH, MES, FC); in the 1960s 10 of 19 do (the bond and rate futures, ES, DM).
   Requiring both statistics keeps a single noisy one from flagging a decade (IJ in the
   2010s has ρ₁ 0.11 but VR(5) 1.12).
   A decade of the DATASET is flagged when at least SMOOTHED_DECADE_SHARE (25 %) of the
   instruments with MIN_RETURNS in it are smoothed (1960s: 53 %; 2010s: 1 of 84).
2. Stale prices: runs of exactly-zero returns. Holidays give runs of 1–3 (the median
   instrument's longest run is 3), so a run of STALE_RUN = 5 or more sessions (a whole
   week without a price change) is stale. Its sessions and the first non-zero return after
   it (the catch-up move that books the whole stale period in one session) are flagged.
3. History before the instrument's listing date (optional `listing_date` per instrument):
   a continuous series that starts decades before the contract traded is a reconstruction.
4. Returns that are not contract returns (`return_basis = adjusted_level`: a percentage
   change of a back-adjusted level; pysystemtrade instruments without multiple prices,
   0.57×–4.4× mis-scaled against the same markets' real returns). Runs exclude them unless
   the config sets `data.allow_level_returns: true`; when allowed, all their sessions count
   as flagged.

The share of a run's P&L earned on flagged instrument-sessions is `flagged_pnl`. Returns
that are NaN (no return on that session) are dropped before the statistics: the next
return is treated as adjacent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from macrostack.errors import InputError

__all__ = ["SMOOTH_AC1", "SMOOTH_VR", "VR_Q", "Z_MIN", "MIN_RETURNS", "STALE_RUN", "SMOOTHED_DECADE_SHARE",
           "LEVEL_BASIS", "lag1_autocorr", "variance_ratio", "variance_ratio_se", "grouped_lag1_autocorr",
           "grouped_variance_ratio", "is_smoothed", "zero_run_lengths", "stale_flags", "QualityEvidence", "assess",
           "decade_summary", "session_mask", "flagged_pnl", "run_universe", "thresholds"]

SMOOTH_AC1 = 0.10
SMOOTH_VR = 1.20
VR_Q = 5
Z_MIN = 3.0
MIN_RETURNS = 500        # returns in an instrument-decade below which it is not judged (≈ 2 years)
STALE_RUN = 5            # consecutive zero returns that make a stale run
SMOOTHED_DECADE_SHARE = 0.25
LEVEL_BASIS = "adjusted_level"
LEVEL_RETURNS_KEY = "data.allow_level_returns"


def thresholds() -> dict:
    """The flag thresholds, as recorded in every manifest."""
    return {"smooth_ac1": SMOOTH_AC1, "smooth_vr": SMOOTH_VR, "vr_q": VR_Q, "z_min": Z_MIN,
            "min_returns": MIN_RETURNS, "stale_run": STALE_RUN, "smoothed_decade_share": SMOOTHED_DECADE_SHARE}


# --------------------------------------------------------------------------- statistics


def grouped_lag1_autocorr(x: np.ndarray, group: np.ndarray, n_groups: int | None = None) -> np.ndarray:
    """Lag-1 autocorrelation of each group's series, `ρ₁ = Σ_{t≥1} x̃_t x̃_{t−1} / Σ_t x̃_t²`,
    `x̃ = x − mean(x)` within the group.

    x: finite values [n]; group: int ids [n], non-decreasing (each group contiguous, in time
    order). Returns [G]; NaN for a group with fewer than 2 values or no variance.
    """
    g = np.asarray(group, dtype=np.int64)
    n_groups = int(g.max()) + 1 if n_groups is None and g.size else (n_groups or 0)
    count = np.bincount(g, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, x, minlength=n_groups) / count
        xc = x - mean[g]
        den = np.bincount(g, xc * xc, minlength=n_groups)
        same = g[1:] == g[:-1]
        num = np.bincount(g[1:][same], (xc[1:] * xc[:-1])[same], minlength=n_groups)
        return np.where((count >= 2) & (den > 0), num / den, np.nan)


def grouped_variance_ratio(x: np.ndarray, group: np.ndarray, q: int = VR_Q, n_groups: int | None = None) -> np.ndarray:
    """Variance ratio of each group, `VR(q) = var(S) / (q · var(x))`, S the overlapping q-session
    sums `S_t = x_t + … + x_{t+q−1}` inside the group, both variances ddof = 1.

    ≈ `1 + 2 Σ_{k<q} (1 − k/q) ρ_k`: 1 for uncorrelated returns, > 1 when smoothed. Same
    shapes as `grouped_lag1_autocorr`; NaN for a group with fewer than q + 1 values.
    """
    g = np.asarray(group, dtype=np.int64)
    n_groups = int(g.max()) + 1 if n_groups is None and g.size else (n_groups or 0)
    count = np.bincount(g, minlength=n_groups)
    cs = np.concatenate([[0.0], np.cumsum(x)])
    s = cs[q:] - cs[:-q]                           # S_t for t = 0 .. n − q
    gs = g[: len(s)]
    ok = gs == g[q - 1:]                           # the window starts and ends in one group
    s, gs = s[ok], gs[ok]
    m = np.bincount(gs, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.bincount(g, x, minlength=n_groups) / count
        var_x = np.bincount(g, (x - mean_x[g]) ** 2, minlength=n_groups) / (count - 1)
        mean_s = np.bincount(gs, s, minlength=n_groups) / m
        var_s = np.bincount(gs, (s - mean_s[gs]) ** 2, minlength=n_groups) / (m - 1)
        return np.where((m >= 2) & (var_x > 0), var_s / (q * var_x), np.nan)


def lag1_autocorr(x) -> float:
    """`grouped_lag1_autocorr` of one series (NaN values dropped)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(grouped_lag1_autocorr(x, np.zeros(x.size, np.int64), 1)[0])


def variance_ratio(x, q: int = VR_Q) -> float:
    """`grouped_variance_ratio` of one series (NaN values dropped)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(grouped_variance_ratio(x, np.zeros(x.size, np.int64), q, 1)[0])


def variance_ratio_se(q: int, n) -> np.ndarray:
    """Standard error of VR(q) under iid returns (Lo & MacKinlay 1988), `√(2(2q−1)(q−1) / (3qn))`."""
    return np.sqrt(2.0 * (2 * q - 1) * (q - 1) / (3.0 * q * np.asarray(n, dtype=float)))


def is_smoothed(ac1, vr, n, q: int = VR_Q) -> np.ndarray:
    """The smoothed-history rule of the module docstring, elementwise over decades."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ac_bar = np.maximum(SMOOTH_AC1, Z_MIN / np.sqrt(n))
        vr_bar = np.maximum(SMOOTH_VR - 1.0, Z_MIN * variance_ratio_se(q, n))
        return (n >= MIN_RETURNS) & (np.asarray(ac1) > ac_bar) & (np.asarray(vr) - 1.0 > vr_bar)


def zero_run_lengths(ret: np.ndarray, series: np.ndarray) -> np.ndarray:
    """For each value, the length of the run of exactly-zero returns it belongs to (0 if not zero).

    ret: returns [n] (NaN is not zero and ends a run); series: int ids [n], each series
    contiguous and in time order (runs never cross series).
    """
    z = np.asarray(ret) == 0
    s = np.asarray(series)
    starts = z & ~np.r_[False, z[:-1] & (s[1:] == s[:-1])]
    run = np.cumsum(starts) - 1
    lengths = np.bincount(run[z], minlength=int(starts.sum())) if z.any() else np.zeros(0, np.int64)
    return np.where(z, lengths[np.where(z, run, 0)] if lengths.size else 0, 0)


def stale_flags(ret: np.ndarray, series: np.ndarray, min_run: int = STALE_RUN) -> np.ndarray:
    """True on the sessions of zero-return runs of `min_run` or more, and on the first session
    after such a run in the same series (its return books the whole stale period)."""
    runs = zero_run_lengths(ret, series)
    stale = runs >= min_run
    s = np.asarray(series)
    catch_up = np.r_[False, stale[:-1] & (s[1:] == s[:-1])] & ~stale
    return stale | catch_up


# --------------------------------------------------------------------------- a dataset


@dataclass(frozen=True)
class QualityEvidence:
    """Evidence on one dataset's instruments.

    decades: symbol, decade, n (returns), ac1, vr, smoothed — one row per instrument-decade.
    instruments: symbol, first, listing_date, pre_listing (sessions before it), longest_zero_run,
      zero_share, stale_sessions, smoothed_decades (e.g. "1960s,1970s"), return_basis, flags.
    flagged: symbol, date of every flagged bar (smoothed decade, stale run or pre-listing).
    """

    decades: pd.DataFrame
    instruments: pd.DataFrame
    flagged: pd.DataFrame

    def manifest(self) -> dict:
        """JSON-ready: thresholds, the dataset's decade summary and per-instrument evidence."""
        ins = self.instruments.copy()
        for col in ("first", "listing_date"):
            ins[col] = [None if pd.isna(v) else str(v)[:10] for v in ins[col]]
        dec = self.decades
        by_symbol = {s: {str(r.decade): {"n": int(r.n), "ac1": _f(r.ac1), "vr": _f(r.vr), "smoothed": bool(r.smoothed)}
                         for r in g.itertuples()} for s, g in dec.groupby("symbol", sort=True)}
        rows = {}
        for r in ins.to_dict("records"):
            sym = r.pop("symbol")
            rows[sym] = {**{k: (_f(v) if isinstance(v, float) else v) for k, v in r.items()},
                         "by_decade": by_symbol.get(sym, {})}
        return {"thresholds": thresholds(), "decades": decade_summary(dec).to_dict("records"), "instruments": rows}


def _f(v) -> float | None:
    return None if v is None or v != v else float(v)


def assess(bars: pd.DataFrame, instruments: pd.DataFrame) -> QualityEvidence:
    """Quality evidence from long bars (`symbol, date, ret`, ordered by symbol then date, each
    instrument's own sessions) and the instruments table (`symbol`, optional `listing_date`,
    `return_basis`)."""
    sym_codes, symbols = pd.factorize(bars["symbol"], sort=False)
    sym_codes = sym_codes.astype(np.int64)
    dates = bars["date"].to_numpy().astype("datetime64[D]")
    ret = bars["ret"].to_numpy(dtype=float)
    n_sym = len(symbols)

    # 1. smoothed decades: groups = (instrument, decade), contiguous because bars are sorted
    decade = (dates.astype("datetime64[Y]").astype(np.int64) + 1970) // 10 * 10
    finite = np.isfinite(ret)
    key = sym_codes[finite] * 10_000 + decade[finite]
    uniq, gid = np.unique(key, return_inverse=True)
    n = np.bincount(gid, minlength=len(uniq))
    ac1 = grouped_lag1_autocorr(ret[finite], gid, len(uniq))
    vr = grouped_variance_ratio(ret[finite], gid, VR_Q, len(uniq))
    smooth = is_smoothed(ac1, vr, n)
    decades = pd.DataFrame({"symbol": np.asarray(symbols)[uniq // 10_000], "decade": uniq % 10_000, "n": n,
                            "ac1": ac1, "vr": vr, "smoothed": smooth})
    bar_smoothed = np.zeros(len(ret), bool)
    smooth_keys = uniq[smooth]
    bar_smoothed[:] = np.isin(sym_codes * 10_000 + decade, smooth_keys)

    # 2. stale runs
    stale = stale_flags(ret, sym_codes)
    runs = zero_run_lengths(ret, sym_codes)
    longest = np.zeros(n_sym, np.int64)
    np.maximum.at(longest, sym_codes, runs)
    rows = np.bincount(sym_codes, minlength=n_sym)
    zero_share = np.bincount(sym_codes, (ret == 0).astype(float), minlength=n_sym) / np.maximum(rows, 1)

    # 3. before the listing date
    meta = instruments.set_index("symbol").reindex(list(symbols))
    listing = (pd.to_datetime(meta["listing_date"]) if "listing_date" in meta else pd.Series(pd.NaT, index=meta.index))
    listing_d = listing.to_numpy().astype("datetime64[D]")
    before = dates < listing_d[sym_codes]  # NaT compares False
    basis = meta["return_basis"].to_numpy() if "return_basis" in meta else np.full(n_sym, None)

    flagged = bar_smoothed | stale | before
    first = np.full(n_sym, np.datetime64("NaT"), "datetime64[D]")
    starts = np.r_[0, np.flatnonzero(np.diff(sym_codes)) + 1] if len(sym_codes) else np.zeros(0, int)
    first[sym_codes[starts]] = dates[starts]
    smoothed_by_sym = decades[decades["smoothed"]].groupby("symbol")["decade"].apply(
        lambda d: ",".join(f"{x}s" for x in d))
    ins = pd.DataFrame({
        "symbol": np.asarray(symbols), "first": first, "listing_date": listing_d,
        "pre_listing": np.bincount(sym_codes, before, minlength=n_sym).astype(int),
        "longest_zero_run": longest, "zero_share": zero_share,
        "stale_sessions": np.bincount(sym_codes, stale, minlength=n_sym).astype(int),
        "smoothed_decades": [smoothed_by_sym.get(s, "") for s in symbols], "return_basis": basis,
    })
    ins["flags"] = [",".join(f for f, on in (("smoothed", r.smoothed_decades != ""), ("stale", r.stale_sessions > 0),
                                                ("pre-listing", r.pre_listing > 0),
                                                ("level-return", r.return_basis == LEVEL_BASIS)) if on)
                    for r in ins.itertuples()]
    flagged_bars = pd.DataFrame({"symbol": np.asarray(symbols)[sym_codes[flagged]], "date": dates[flagged]})
    return QualityEvidence(decades, ins, flagged_bars)


def decade_summary(decades: pd.DataFrame) -> pd.DataFrame:
    """Per calendar decade of a dataset: instruments judged (>= MIN_RETURNS returns), how many
    are smoothed, their median ρ₁ and VR(q), and `flagged` (smoothed share >= SMOOTHED_DECADE_SHARE)."""
    judged = decades[decades["n"] >= MIN_RETURNS]
    out = judged.groupby("decade").agg(instruments=("symbol", "size"), smoothed=("smoothed", "sum"),
                                       median_ac1=("ac1", "median"), median_vr=("vr", "median")).reset_index()
    out["smoothed"] = out["smoothed"].astype(int)
    out["share"] = out["smoothed"] / out["instruments"]
    out["flagged"] = out["share"] >= SMOOTHED_DECADE_SHARE
    out["decade"] = out["decade"].map(lambda d: f"{d}s")
    return out


# --------------------------------------------------------------------------- a run


def session_mask(evidence: QualityEvidence, dates: np.ndarray, symbols, level_symbols=()) -> np.ndarray:
    """[T, N] True where instrument i's bar on session d is flagged (every session of an
    allowed level-return instrument counts as flagged)."""
    dates = np.asarray(dates).astype("datetime64[D]")
    col_of = {s: j for j, s in enumerate(symbols)}
    mask = np.zeros((len(dates), len(col_of)), bool)
    f = evidence.flagged
    keep = f["symbol"].isin(col_of).to_numpy()
    fd = f["date"].to_numpy()[keep].astype("datetime64[D]")
    row = np.searchsorted(dates, fd)
    inside = (row < len(dates)) & (dates[np.minimum(row, len(dates) - 1)] == fd)
    cols = f["symbol"][keep].map(col_of).to_numpy(dtype=np.int64)
    mask[row[inside], cols[inside]] = True
    for s in level_symbols:
        if s in col_of:
            mask[:, col_of[s]] = True
    return mask


def flagged_pnl(held: np.ndarray, returns: np.ndarray, mask: np.ndarray, start: int = 0) -> dict:
    """How much of the run's gross P&L was earned on flagged data.

    With `π[d,i] = held[d,i] · r[d,i]` (NaN return = 0, as the P&L contract books it) over
    the ready sessions `d >= start`:
    - `share = Σ mask·π / Σ π` (signed: the share of the gross P&L; > 1 or < 0 when the
      unflagged part lost money);
    - `abs_share = Σ mask·|π| / Σ |π|` (the share of P&L activity, always in [0, 1]);
    - `exposure_share = Σ mask·|held| / Σ |held|` (the share of gross exposure held on flagged data);
    - `flagged_gross`, `gross`: the two sums (fractions of NAV, summed over sessions).
    """
    h, r, m = held[start:], np.nan_to_num(returns[start:]), mask[start:]
    pi = h * r
    gross, flagged = float(pi.sum()), float(pi[m].sum())
    abs_total, abs_flagged = float(np.abs(pi).sum()), float(np.abs(pi[m]).sum())
    expo, expo_flagged = float(np.abs(h).sum()), float(np.abs(h[m]).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"share": flagged / gross if gross else float("nan"), "flagged_gross": flagged, "gross": gross,
                "abs_share": abs_flagged / abs_total if abs_total else float("nan"),
                "exposure_share": expo_flagged / expo if expo else float("nan"),
                "flagged_instrument_sessions": int(m.sum())}


def run_universe(instruments: pd.DataFrame, universe: list[str] | None, allow_level_returns: bool,
                 dataset: str, include_derived: bool = False) -> tuple[list[str] | None, dict[str, str]]:
    """The symbols a run may use, and those excluded with why.

    Instruments whose returns are a level's percentage change (`return_basis = adjusted_level`)
    are excluded unless `allow_level_returns`; naming one in `data.universe` without it is an
    error (never used or dropped silently). Derived instruments (`derived_*`, built at ingest)
    join a whole-dataset universe only with `include_derived`, as in `market.load_market_data`.
    Returns (symbols, excluded); symbols is None when the whole dataset is used."""
    basis = dict(zip(instruments["symbol"], instruments.get("return_basis", pd.Series(dtype=object))))
    level = [s for s, b in basis.items() if b == LEVEL_BASIS]
    if allow_level_returns or not level:
        return universe, {}
    why = ("returns from the back-adjusted level (no contract prices), mis-scaled vs real returns; "
           f"set {LEVEL_RETURNS_KEY}: true to include")
    if universe is not None:
        named = [s for s in universe if basis.get(s) == LEVEL_BASIS]
        if named:
            raise InputError(f"{', '.join(named)} of dataset {dataset!r} have returns from the back-adjusted level "
                             "(no multiple prices), mis-scaled against real returns", "data.universe",
                             f"drop them, or set {LEVEL_RETURNS_KEY}: true to use them anyway")
        return universe, {}
    kept = [s for s, b in basis.items()
            if b != LEVEL_BASIS and (include_derived or not str(b).startswith("derived"))]
    if not kept:
        raise InputError(f"every instrument of dataset {dataset!r} has level-based returns", "data.universe",
                         f"set {LEVEL_RETURNS_KEY}: true to use them anyway")
    return kept, {s: why for s in level}
