"""Named tolerances for tests that compare two implementations of one formula.

The reproducibility contract (README "Reproducibility"): the same code on the same inputs,
machine and install gives bit-identical results (those tests compare bytes or use
`assert_array_equal`); two implementations, or two CPUs, agree within the tolerance stated
here for each quantity. Bit-exactness between implementations is only asserted where both
sides run the same IEEE operations in the same order and call the same transcendental
functions (e.g. a numba cumsum against numpy's sequential cumsum).
"""

# EWMAC raw forecasts (forecast units; raw values reach ~100, scaled forecasts are capped at
# ±20): numba kernel vs the numpy/pandas reference. The kernel's log1p is the C library's
# (glibc), numpy's is its own SIMD routine on AVX-512 CPUs, and the two differ by 1 ulp on
# ~4% of daily returns (measured on this Xeon: 37,482 of 971,822 real returns). The 1-ulp
# differences accumulate in the log index and are amplified by the EMA difference
# (cancellation) and the division by σ (~0.01): measured max abs error 1.35e-12 on the
# whole real dataset (all four speeds), max relative error 1.5e-8 where |forecast| ~ 0.003
# (near a zero crossing, hence an absolute floor). 1e-9 is ~700× the measured error and
# ~1e-10 of the ±20 forecast range: far below anything that could change a position.
EWMAC_RTOL = 1e-9
EWMAC_ATOL = 1e-9

# Trend signal (z-score units, |s| <= clip): the numba kernels vs the pandas reference on
# hypothesis-drawn "awkward" panels (runs of zero returns, jumps, late starts). Both compute
# rolling means/variances of features over near-constant windows, where the two algorithms
# (running sums vs pandas' online update) lose different digits to cancellation: an example
# drawn on this AVX-512 machine reached 9.6e-9 (real data: far below). 1e-7 is ~10× that and
# ~1e-8 of the signal's range; a logic error (a wrong window, an off-by-one) is orders larger.
TREND_ATOL = 1e-7
