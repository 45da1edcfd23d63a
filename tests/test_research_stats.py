"""research.stats: PSR, DSR, PBO by CSCV, stationary bootstrap, sub-period Sharpes.

Published worked examples (the numbers below are printed in the papers; every Sharpe ratio is
per period, kurtosis is NOT excess):

- Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", J. Portfolio Management 40(5),
  section "A numerical example" (pp. 9-10 of the July 31, 2014 SSRN 2460551 version): after
  N = 100 independent trials whose annualised Sharpe ratios have variance V = 1/2, the best
  has annualised SR 2.5 over T = 1,250 daily observations (250 a year), skewness -3, kurtosis
  10. Per period: SR = 2.5/sqrt(250), V = 0.5/250. Printed: SR0 ~= 0.1132, DSR ~= 0.9004;
  "after only N = 46 trials ... DSR would have been 0.9505"; with normal returns (skew 0,
  kurtosis 3) DSR = 0.9505 after N = 88 trials.
- Bailey & López de Prado (2012), "The Sharpe Ratio Efficient Frontier", J. Risk 15(2),
  section 3: a monthly track record of 24 observations with annualised SR 1.59 (per period
  0.458 as printed): PSR(0) = 0.982 under normal moments, 0.913 with skewness -2.448 and
  kurtosis 10.164, and 0.953 with those moments over 36 months. Appendix A.3: monthly SR
  2/sqrt(12) against a benchmark of 1/sqrt(12), skewness -0.72, kurtosis 5.78 has a minimum
  track record length of 59.895 months at 95%, i.e. PSR = 0.95 at T = 59.895.

These numbers were located through independent reproductions (test suites of several public
implementations quote them) and re-derived here from the formulas to the printed digits.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macrostack import metrics
from macrostack.errors import InputError
from macrostack.research import stats as rs

DSR_SR = 2.5 / math.sqrt(250)  # per period (daily)
DSR_V = 0.5 / 250  # variance of per-period trial Sharpe ratios
PSR_SR = 0.458  # per period (monthly): the paper's printed value of 1.59 / sqrt(12)


# --------------------------------------------------------------------------- normal law


def test_normal_cdf_and_quantile_known_values():
    assert rs.norm_cdf(0.0) == 0.5
    assert rs.norm_cdf(1.96) == pytest.approx(0.9750021048517795, abs=1e-15)
    assert rs.norm_cdf(-8.0) == pytest.approx(6.22096057427178e-16, rel=1e-12)  # erfc keeps the tail
    assert rs.norm_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-14)
    assert rs.norm_ppf(0.0) == -math.inf and rs.norm_ppf(1.0) == math.inf
    for p in (1e-10, 0.01, 0.3, 0.5, 0.9, 0.999999):
        assert rs.norm_cdf(rs.norm_ppf(p)) == pytest.approx(p, rel=1e-12)


# --------------------------------------------------------------------------- DSR (2014 example)


def test_expected_max_sharpe_reproduces_the_dsr_paper():
    """Paper: SR0 = sqrt(V) ((1-g) Z^-1[1 - 1/100] + g Z^-1[1 - 1/(100 e)]) ~= 0.1132 per period."""
    sr0 = rs.expected_max_sharpe(DSR_V, 100)
    assert round(sr0, 4) == 0.1132
    assert sr0 * math.sqrt(250) == pytest.approx(1.7894, abs=1e-4)  # annualised


def test_deflated_sharpe_reproduces_the_dsr_paper():
    """Paper: DSR ~= 0.9004 (N = 100), 0.9505 (N = 46), normal moments 0.9505 (N = 88)."""
    best = rs.SharpeMoments(DSR_SR, 1250, -3.0, 10.0)
    d = rs.deflated_sharpe(best, rs.Trials(DSR_V, 100))
    assert round(d.dsr, 4) == 0.9004
    assert d.dsr == pytest.approx(0.90039683444939, rel=1e-12)  # the formula at full precision
    assert d.sr0 == rs.expected_max_sharpe(DSR_V, 100) and d.n_trials == 100 and d.n_obs == 1250
    assert round(rs.deflated_sharpe(best, rs.Trials(DSR_V, 46)).dsr, 4) == 0.9505
    normal = rs.SharpeMoments(DSR_SR, 1250, 0.0, 3.0)
    assert round(rs.deflated_sharpe(normal, rs.Trials(DSR_V, 88)).dsr, 4) == 0.9505
    assert rs.deflated_sharpe(normal, rs.Trials(DSR_V, 89)).dsr < 0.95  # 88 is the last N at 95%


def test_deflated_sharpe_misses_the_paper_with_excess_kurtosis():
    """Born failing: excess kurtosis (7) where the formula wants the kurtosis (10) is not 0.9004."""
    wrong = rs.deflated_sharpe(rs.SharpeMoments(DSR_SR, 1250, -3.0, 7.0), rs.Trials(DSR_V, 100))
    assert round(wrong.dsr, 4) != 0.9004


def test_deflated_sharpe_from_trial_sharpes_equals_the_variance_form():
    """100 trials at +a and -a (50 each) have sample variance V: the same DSR as Trials(V, 100)."""
    a = math.sqrt(DSR_V * 99 / 100)
    trials = [a] * 50 + [-a] * 50
    best = rs.SharpeMoments(DSR_SR, 1250, -3.0, 10.0)
    from_list = rs.deflated_sharpe(best, trials)
    assert from_list.sr_variance == pytest.approx(DSR_V, rel=1e-12) and from_list.n_trials == 100
    assert from_list.dsr == pytest.approx(rs.deflated_sharpe(best, rs.Trials(DSR_V, 100)).dsr, rel=1e-10)


def test_deflated_sharpe_reads_a_plain_tuple_as_variance_and_count():
    """`(sr_variance, n_trials)` as in the brief; a list or array of two numbers are two trial Sharpes."""
    best = rs.SharpeMoments(DSR_SR, 1250, -3.0, 10.0)
    assert rs.deflated_sharpe(best, (DSR_V, 100)) == rs.deflated_sharpe(best, rs.Trials(DSR_V, 100))
    two = rs.deflated_sharpe(best, [0.01, 0.03])
    assert two.n_trials == 2 and two.sr_variance == pytest.approx(0.0002)
    with_failed = rs.deflated_sharpe(best, np.array([0.01, np.nan, 0.03]))
    assert with_failed.n_trials == 2 and with_failed.dsr == two.dsr
    with pytest.raises(InputError, match="no finite trial"):
        rs.deflated_sharpe(best, [np.nan])


def test_deflated_sharpe_of_returns_uses_their_moments():
    rng = np.random.default_rng(1)
    r = rng.standard_t(4, 2000) * 0.01 + 0.0006
    d = rs.deflated_sharpe(r, rs.Trials(0.001, 20))
    m = rs.sharpe_moments(r)
    assert d.sr == metrics.sharpe(r, 1.0) == m.sr
    assert d.dsr == rs.probabilistic_sharpe(m, rs.expected_max_sharpe(0.001, 20))
    assert d.psr0 == rs.probabilistic_sharpe(r, 0.0) and d.dsr < d.psr0


def test_expected_max_sharpe_edges():
    assert rs.expected_max_sharpe(0.01, 1) == 0.0
    assert rs.expected_max_sharpe(0.0, 50) == 0.0
    assert math.isnan(rs.expected_max_sharpe(float("nan"), 50))
    for bad in (0, 2.5, -3):
        with pytest.raises(InputError, match="n_trials"):
            rs.expected_max_sharpe(0.01, bad)
    with pytest.raises(InputError, match="sr_variance"):
        rs.expected_max_sharpe(-0.1, 10)


def test_expected_max_sharpe_is_close_to_simulated_maxima():
    """E[max of N normal(0, s²)] by simulation within 3% of the approximation (N = 100)."""
    rng = np.random.default_rng(7)
    simulated = (rng.standard_normal((20_000, 100)) * 0.05).max(axis=1).mean()
    assert rs.expected_max_sharpe(0.05**2, 100) == pytest.approx(simulated, rel=0.03)


# --------------------------------------------------------------------------- PSR (2012 examples)


def test_probabilistic_sharpe_reproduces_the_frontier_paper():
    """Section 3: 0.982 (normal, 24 months), 0.913 (skew -2.448, kurt 10.164), 0.953 (36 months).
    The formula gives 0.98167, 0.91336 and 0.95351: the printed digits (the last one truncated)."""
    assert round(rs.probabilistic_sharpe(rs.SharpeMoments(PSR_SR, 24, 0.0, 3.0)), 3) == 0.982
    assert round(rs.probabilistic_sharpe(rs.SharpeMoments(PSR_SR, 24, -2.448, 10.164)), 3) == 0.913
    assert 0.953 <= rs.probabilistic_sharpe(rs.SharpeMoments(PSR_SR, 36, -2.448, 10.164)) < 0.954


def test_probabilistic_sharpe_is_the_confidence_at_the_min_track_record():
    """Appendix A.3: MinTRL = 59.895 months for SR 2/sqrt(12) vs 1/sqrt(12), skew -0.72, kurt 5.78,
    so PSR(1/sqrt(12)) at T = 59.895 is the 95% it was solved for (to the printed 3 decimals)."""
    m = rs.SharpeMoments(2 / math.sqrt(12), 59.895, -0.72, 5.78)
    assert rs.probabilistic_sharpe(m, 1 / math.sqrt(12)) == pytest.approx(0.95, abs=1e-6)


def test_probabilistic_sharpe_by_hand_and_from_returns():
    z = 0.1 * math.sqrt(399) / math.sqrt(1 + 0.25 * 0.01 * 2)
    assert rs.probabilistic_sharpe(rs.SharpeMoments(0.1, 400)) == pytest.approx(rs.norm_cdf(z), rel=1e-15)
    r = np.array([0.01, -0.005, 0.02, 0.0, -0.01, 0.015, 0.004])
    d = r - r.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    m = rs.sharpe_moments(r)
    assert m.sr == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-14) and m.n_obs == 7
    assert m.skew == pytest.approx(m3 / m2**1.5, rel=1e-12) and m.kurtosis == pytest.approx(m4 / m2**2, rel=1e-12)
    assert rs.probabilistic_sharpe(r, 0.05) == rs.probabilistic_sharpe(m, 0.05)


def test_probabilistic_sharpe_undefined_cases_are_nan():
    assert math.isnan(rs.probabilistic_sharpe(np.full(50, 0.01)))  # zero vol
    assert math.isnan(rs.probabilistic_sharpe([0.01]))
    assert math.isnan(rs.probabilistic_sharpe(rs.SharpeMoments(0.5, 100, 5.0, 3.0)))  # impossible moments


sharpe = st.floats(-0.3, 0.3)
skews = st.floats(-2.0, 2.0)


@settings(max_examples=200, deadline=None)
@given(sharpe, sharpe, sharpe, skews, st.floats(0.0, 12.0), st.integers(2, 10_000))
def test_psr_rises_with_the_sharpe_ratio(sr_a, sr_b, bench, skew, extra_kurt, n):
    """Realistic per-period Sharpe ratios (|SR| <= 0.3, |skew| <= 2; kurtosis >= 1 + skew²):
    a higher SR never has a lower PSR."""
    kurt = 1.0 + skew * skew + extra_kurt
    lo, hi = sorted((sr_a, sr_b))
    assert rs.probabilistic_sharpe(rs.SharpeMoments(lo, n, skew, kurt), bench) <= \
        rs.probabilistic_sharpe(rs.SharpeMoments(hi, n, skew, kurt), bench)


@settings(max_examples=200, deadline=None)
@given(sharpe, skews, st.floats(0.0, 12.0), st.integers(2, 10_000), st.floats(0.0, 0.01), st.integers(2, 10**6))
def test_dsr_never_exceeds_psr_at_zero(sr, skew, extra_kurt, n, variance, n_trials):
    m = rs.SharpeMoments(sr, n, skew, 1.0 + skew * skew + extra_kurt)
    d = rs.deflated_sharpe(m, rs.Trials(variance, n_trials))
    assert 0.0 <= d.dsr <= d.psr0 == rs.probabilistic_sharpe(m, 0.0) <= 1.0


# --------------------------------------------------------------------------- PBO by CSCV


def _pbo_reference(x: np.ndarray, n_blocks: int) -> tuple[float, np.ndarray]:
    """Brute force, straight from the paper: every half, `metrics.sharpe` per column, rank by hand."""
    edges = np.linspace(0, x.shape[0], n_blocks + 1).round().astype(int)
    blocks = [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:])]
    n = x.shape[1]
    logits = []
    for half in itertools.combinations(range(n_blocks), n_blocks // 2):
        rows_is = np.concatenate([blocks[i] for i in half])
        rows_oos = np.concatenate([blocks[i] for i in range(n_blocks) if i not in half])
        sr_is = [metrics.sharpe(x[rows_is, j], 1.0) for j in range(n)]
        sr_oos = [metrics.sharpe(x[rows_oos, j], 1.0) for j in range(n)]
        best = int(np.argmax(sr_is))
        below = sum(v < sr_oos[best] for v in sr_oos)
        equal = sum(v == sr_oos[best] for v in sr_oos)
        omega = (below + (equal + 1) / 2) / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), logits


def test_pbo_equals_the_brute_force_definition():
    rng = np.random.default_rng(3)
    x = rng.normal(0.0002, 0.01, (203, 7))  # 203 rows: blocks of unequal size
    got = rs.pbo_cscv(x, n_blocks=8)
    pbo, logits = _pbo_reference(x, 8)
    assert got.n_combinations == math.comb(8, 4) == got.logits.size
    assert got.pbo == pbo
    np.testing.assert_allclose(got.logits, logits, rtol=0, atol=1e-12)
    generic = rs.pbo_cscv(x, n_blocks=8, metric=lambda rows: [metrics.sharpe(c, 1.0) for c in rows.T])
    np.testing.assert_allclose(generic.logits, logits, rtol=0, atol=1e-12)
    np.testing.assert_allclose(generic.is_sharpe, got.is_sharpe, rtol=1e-10)


def test_pbo_of_exchangeable_noise_is_about_one_half():
    """N independent, identically distributed noise strategies: the in-sample winner is a random
    draw out of sample, so lambda <= 0 about half the time (averaged over 8 seeds: one seed's PBO
    is noisy because the 12,870 halves share data)."""
    rng = np.random.default_rng(11)
    values = [rs.pbo_cscv(rng.normal(0.0, 0.01, (1600, 20))).pbo for _ in range(8)]
    assert 0.4 <= float(np.mean(values)) <= 0.6
    assert all(0.0 <= v <= 1.0 for v in values)


def test_pbo_of_a_dominant_true_edge_is_zero():
    """49 noise strategies and one with per-period SR 0.2 over 4,000 sessions: the edge wins in
    every in-sample half and is the best out of sample in every one: PBO 0, lambda = ln(50)."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 0.01, (4000, 50))
    x[:, 17] += 0.002
    r = rs.pbo_cscv(x)
    assert r.pbo == 0.0 and (r.chosen == 17).all()
    np.testing.assert_allclose(r.logits, math.log(50))
    assert r.prob_oos_loss == 0.0


def test_pbo_of_an_overfit_construction_is_one():
    """Every strategy earns the same total over the sample, split differently across blocks
    (block drifts that sum to zero), under common noise: whatever wins in sample must lose the
    same amount out of sample, so the in-sample best is (by mean) the out-of-sample worst.
    PBO = 1, the winner ranks last out of sample in almost every half (Sharpe, not the mean,
    ranks: the drifts add a little to each strategy's vol) and the degradation slope is < 0."""
    rng = np.random.default_rng(9)
    n_rows, n_cols, n_blocks = 1600, 30, 16
    drift = rng.normal(0.0, 0.002, (n_blocks, n_cols))
    drift -= drift.mean(axis=0)  # each strategy's block drifts sum to zero
    block = np.repeat(np.arange(n_blocks), n_rows // n_blocks)
    x = drift[block] + rng.normal(0.0, 0.01, (n_rows, 1))  # the same noise for every strategy
    r = rs.pbo_cscv(x, n_blocks=n_blocks)
    assert r.pbo == 1.0
    worst = np.isclose(r.logits, math.log(1 / 30))  # rank 1 of 30: omega = 1/31
    assert worst.mean() > 0.95
    assert r.slope < 0.0


def test_pbo_degradation_regression_is_the_ols_fit():
    rng = np.random.default_rng(2)
    r = rs.pbo_cscv(rng.normal(0.0, 0.01, (640, 12)), n_blocks=10)
    slope, intercept = np.polyfit(r.is_sharpe, r.oos_sharpe, 1)
    assert r.slope == pytest.approx(slope, rel=1e-9) and r.intercept == pytest.approx(intercept, rel=1e-9, abs=1e-12)
    assert r.prob_oos_loss == np.mean(r.oos_sharpe < 0)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 9), st.sampled_from([2, 4, 6]))
def test_pbo_is_a_probability(seed, n_cols, n_blocks):
    x = np.random.default_rng(seed).normal(0.0, 0.01, (60, n_cols))
    r = rs.pbo_cscv(x, n_blocks=n_blocks)
    assert 0.0 <= r.pbo <= 1.0 and r.logits.size == math.comb(n_blocks, n_blocks // 2)
    assert np.isfinite(r.logits).all()


def test_pbo_is_fast_on_a_sweep_sized_matrix():
    """1,000 points x 17,000 sessions (the full default history), 12,870 combinations: ~0.7 s on
    this 2-core machine when idle. The limit is loose so a busy shared box does not flake; it
    still catches a fall back to per-combination slicing (minutes)."""
    x = np.random.default_rng(0).normal(0.0, 0.01, (17_000, 1_000))
    start = time.perf_counter()
    r = rs.pbo_cscv(x)
    assert time.perf_counter() - start < 20.0
    assert r.n_combinations == 12_870 and 0.0 <= r.pbo <= 1.0


def test_pbo_refuses_bad_input():
    x = np.random.default_rng(0).normal(0.0, 0.01, (100, 4))
    for bad in (3, 0, 2.0, "16"):
        with pytest.raises(InputError, match="n_blocks"):
            rs.pbo_cscv(x, n_blocks=bad)
    with pytest.raises(InputError, match="cannot fill"):
        rs.pbo_cscv(x[:20], n_blocks=16)
    with pytest.raises(InputError, match="at least 2 points"):
        rs.pbo_cscv(x[:, :1])
    y = x.copy()
    y[5, 2] = np.nan
    with pytest.raises(InputError, match="row 5, column 2"):
        rs.pbo_cscv(y)
    with pytest.raises(InputError, match="2-D"):
        rs.pbo_cscv(x[:, 0])
    with pytest.raises(InputError, match="metric"):
        rs.pbo_cscv(x, metric="calmar")


# --------------------------------------------------------------------------- stationary bootstrap


def test_bootstrap_indices_have_geometric_blocks_of_the_mean_length():
    idx = rs.stationary_bootstrap_indices(500, 400, 21.0, np.random.default_rng(0))
    assert idx.shape == (400, 500) and idx.min() >= 0 and idx.max() < 500
    continues = (idx[:, 1:] == (idx[:, :-1] + 1) % 500)  # a block goes on with the next row
    assert 1.0 - continues.mean() == pytest.approx(1 / 21, rel=0.05)  # a new block with p = 1/21
    iid = rs.stationary_bootstrap_indices(500, 400, 1.0, np.random.default_rng(0))
    assert (iid[:, 1:] == (iid[:, :-1] + 1) % 500).mean() == pytest.approx(1 / 500, abs=0.002)


def test_bootstrap_interval_of_sharpe_and_drawdown():
    rng = np.random.default_rng(4)
    r = rng.normal(0.0004, 0.01, 2500)
    ci = rs.sharpe_drawdown_ci(r, ppy=260.9, n_boot=300, seed=1)
    assert ci["sharpe"].estimate == metrics.sharpe(r, 260.9)
    assert ci["max_drawdown"].estimate == metrics.max_drawdown(r)
    for c in ci.values():
        assert c.lo < c.hi and c.samples.shape == (300,) and c.level == 0.95
    assert ci["sharpe"].lo < ci["sharpe"].estimate < ci["sharpe"].hi
    assert ci["max_drawdown"].hi <= 0.0


def test_bootstrap_interval_covers_the_true_sharpe_about_95_percent():
    """i.i.d. normal returns with a known Sharpe: over 200 independent samples (each with its
    own seed), the 95% percentile interval contains the true Sharpe in 88-99% of them."""
    ppy, mu, sigma = 252.0, 0.0006, 0.01
    true_sharpe = mu / sigma * math.sqrt(ppy)
    rng = np.random.default_rng(2026)
    hits = 0
    for seed in range(200):
        r = rng.normal(mu, sigma, 500)
        ci = rs.stationary_bootstrap(r, lambda x: metrics.sharpe(x, ppy), n_boot=200, mean_block=5, seed=seed)
        hits += ci.lo <= true_sharpe <= ci.hi
    assert 0.88 <= hits / 200 <= 0.99


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(1.0, 60.0))
def test_bootstrap_is_deterministic_for_a_seed(seed, mean_block):
    r = np.random.default_rng(seed % 1000).normal(0.0, 0.01, 300)
    a = rs.stationary_bootstrap(r, np.mean, n_boot=50, mean_block=mean_block, seed=seed)
    b = rs.stationary_bootstrap(r, np.mean, n_boot=50, mean_block=mean_block, seed=seed)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert (a.lo, a.hi) == (b.lo, b.hi)
    other = rs.stationary_bootstrap(r, np.mean, n_boot=50, mean_block=mean_block, seed=seed + 1)
    assert not np.array_equal(a.samples, other.samples)


def test_bootstrap_chunks_do_not_change_the_stream_within_a_chunk(monkeypatch):
    """More resamples than one chunk holds still run (chunked generation), deterministically."""
    monkeypatch.setattr(rs, "_BOOT_CELLS", 1000)  # 2 resamples of 400 per chunk
    r = np.random.default_rng(0).normal(0.0, 0.01, 400)
    a = rs.stationary_bootstrap(r, np.mean, n_boot=7, seed=3)
    assert a.samples.shape == (7,)
    np.testing.assert_array_equal(a.samples, rs.stationary_bootstrap(r, np.mean, n_boot=7, seed=3).samples)


def test_bootstrap_refuses_bad_input():
    r = np.zeros(10)
    with pytest.raises(InputError, match="mean_block"):
        rs.stationary_bootstrap(r, np.mean, mean_block=0.5)
    with pytest.raises(InputError, match="n_boot"):
        rs.stationary_bootstrap(r, np.mean, n_boot=0)
    with pytest.raises(InputError, match="level"):
        rs.stationary_bootstrap(r, np.mean, level=95)
    with pytest.raises(InputError, match="finite"):
        rs.stationary_bootstrap([0.01, np.nan, 0.0], np.mean)


# --------------------------------------------------------------------------- sub-periods


def _panel(start="1995-01-02", end="2012-06-29", n_cols=3, seed=0):
    dates = pd.bdate_range(start, end).to_numpy().astype("datetime64[D]")
    x = np.random.default_rng(seed).normal(0.0003, 0.01, (dates.size, n_cols))
    return x, dates


def test_sub_period_sharpes_per_decade():
    x, dates = _panel()
    out = rs.sub_period_sharpes(pd.DataFrame(x, columns=["a", "b", "c"]), dates)
    assert list(out.table.columns) == ["full period", "1990s", "2000s", "2010s"]
    assert list(out.table.index) == ["a", "b", "c"]
    ppy = metrics.periods_per_year(dates)
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    in_2000s = (years >= 2000) & (years < 2010)
    assert out.table.loc["b", "2000s"] == metrics.sharpe(x[in_2000s, 1], ppy)
    assert out.table.loc["c", "full period"] == metrics.sharpe(x[:, 2], ppy)
    assert [w.partial for w in out.windows] == [False, True, False, True]


def test_sub_period_sharpes_per_user_split():
    x, dates = _panel()
    out = rs.sub_period_sharpes(x, dates, splits=["2003-03-03"], ppy=252.0)
    assert list(out.table.columns) == ["full period", "to 2003-03-03", "from 2003-03-03"]
    cut = int(np.searchsorted(dates, np.datetime64("2003-03-03")))
    assert out.table.loc[0, "to 2003-03-03"] == metrics.sharpe(x[:cut, 0], 252.0)
    assert out.table.loc[1, "from 2003-03-03"] == metrics.sharpe(x[cut:, 1], 252.0)
    with pytest.raises(InputError, match="one date per row"):
        rs.sub_period_sharpes(x, dates[1:])
