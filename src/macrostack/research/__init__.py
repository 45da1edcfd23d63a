"""Research at scale: sweeps on Dask, walk-forward, and the statistics of selection (RESEARCH.md)."""
