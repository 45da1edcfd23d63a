"""Research at scale: sweeps on Dask, walk-forward, and the statistics of selection (RESEARCH.md).

- `stats`: Probabilistic / Deflated Sharpe, PBO by CSCV, stationary bootstrap intervals,
  sub-period Sharpe tables (pure numpy functions over net return series).
- `walkforward`: choose a point at each boundary from past rows only, stitch out of sample.
"""
