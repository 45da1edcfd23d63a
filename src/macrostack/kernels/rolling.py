"""Numba kernel of `macrostack.rolling`: axis-0 cumulative sums of a panel, row by row."""

from __future__ import annotations

from numba import njit

from macrostack.kernels import preload_blas

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg


@njit(cache=True, nogil=True, error_model="numpy")
def cumsum_rows(x, out):
    """`out = np.cumsum(x, axis=0)`: the same additions in the same order, each row one
    contiguous vector add."""
    out[0] = x[0]
    for t in range(1, x.shape[0]):
        for j in range(x.shape[1]):
            out[t, j] = out[t - 1, j] + x[t, j]
