"""The compiled kernels: the session loops that need their own past, written once in numba.

They are compiled ahead of time when the package is installed (`setup.py` runs
`kernels.build`: numba's AOT compiler turns every kernel in `EXPORTS` into one extension
module, `macrostack/_aot_<sha>*.so`, for this machine's CPU). A run then loads them in ~1 ms
without importing numba (whose import and start cost ~0.7 s per process) and never compiles.
The module's name hashes the kernel sources and the CPU (`aot_module`), so when it is missing,
fails to import, the sources were edited since or the install was carried to another CPU (no
module of that name), `kernel()` returns the numba functions themselves (JIT: compiled on
first use, ~10 s, and cached beside the modules). Both are compiled from the same source with
the same flags (nogil, numpy's error model, no fastmath), so they give the same bits (tested).
`MACROSTACK_KERNELS=jit` forces the JIT path.

AOT functions do not check their arguments (a wrong dtype or layout reads garbage), so each
one returned by `kernel()` checks its arrays' dtype, rank and C order and its integers first.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from functools import cache
from pathlib import Path

import numpy as np

KERNELS = Path(__file__).resolve().parent

# Argument codes: arrays as <dtype letter><rank> (F float64, I int64, C order), scalars
# i (int64), f (float64), and t4 (a tuple of 4 float64).
_ARRAY = {"F": np.dtype(np.float64), "I": np.dtype(np.int64)}
_NUMBA = {"F": "float64", "I": "int64", "i": "int64", "f": "float64", "t4": "UniTuple(float64, 4)"}

# symbol: (module in macrostack.kernels, function, return type, argument codes)
EXPORTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "cumsum_rows_f8": ("rolling", "cumsum_rows", "void", ("F2", "F2")),
    "cumsum_rows_i8": ("rolling", "cumsum_rows", "void", ("I2", "I2")),
    "ewma_vol_rows": ("rolling", "ewma_vol_rows", "void", ("F2", "f", "i", "I1", "F2")),
    "last_bar_rows": ("rolling", "last_bar_rows", "void", ("F2", "I1", "I2")),
    "trend_features": ("trend", "features", "void",
                       ("F2", "F2", "i", "i", "i", "i", "f", "f", "F2", "F2", "F2")),
    "trend_standardise": ("trend", "standardise", "void", ("F2", "i", "i", "i", "i", "f", "F2")),
    "trend_signal": ("trend", "signal", "void",
                     ("F2", "i", "i", "I1", "I1", "F1", "F1", "F1", "I1", "F1", "i", "i", "f", "F2")),
    "ewmac_raw_forecasts": ("ewmac", "raw_forecasts", "void",
                            ("F2", "i", "i", "F1", "I1", "I1", "I1", "f", "F3")),
    "ewmac_abs_row_sums": ("ewmac", "abs_row_sums", "void", ("F2", "F1", "F1")),
    "mean_correlations": ("correlation", "mean_correlations", "void", ("F2", "I1", "i", "i", "F2")),
    "advance_features": ("state", "advance_features", "void", ("F1", "i", "i", "i", "F1", "F1", "F2", "F1")),
    "count_flags": ("regime", "count_flags", "int64", ("f", "f", "f", "f", "t4")),
    "candidate": ("regime", "candidate", "int64", ("i", "f", "f", "f")),
    "next_regime": ("regime", "next_regime", "int64", ("i", "i", "i", "i", "i")),
    "smooth": ("regime", "smooth", "float64", ("f", "f", "f", "f")),
    "advance_regime": ("regime", "advance_regime", "void",
                       ("F2", "i", "i", "t4", "t4", "f", "f", "F1", "f", "f", "i", "F2", "F1")),
    "book_execute": ("book", "execute", "void", ("F1", "F1", "F1", "f", "F1", "F2")),
    "book_rebalances": ("book", "book_rebalances", "int64",
                        ("F2", "F2", "F2", "I2", "I1", "i", "F1", "i", "F1", "F2", "F1", "F1", "F1", "F1", "i",
                         "F2", "F1", "F2", "F1", "F3", "F2", "F2", "F2")),
}


def numba_signature(symbol: str) -> str:
    """The numba signature of an export, e.g. `void(float64[:, ::1], int64)`."""
    _, _, ret, args = EXPORTS[symbol]
    types = [f"{_NUMBA[a[0]]}[{', '.join([':'] * (int(a[1]) - 1) + ['::1'])}]" if a[0] in _ARRAY else _NUMBA[a]
             for a in args]
    return f"{ret}({', '.join(types)})"


def sources_sha256() -> str:
    """sha256 of the kernel modules' sources (and of the export table): what an AOT build is of."""
    digest = hashlib.sha256()
    for path in sorted(KERNELS.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cpu_signature() -> str:
    """The CPU that compiled code is for: model and instruction-set flags (Linux), else the platform.
    The AOT module is compiled for this machine's instructions, so a wheel carried to another CPU must
    not be loaded there (it could stop on an illegal instruction): its name would not match."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        keys = ("model name", "flags", "Features", "CPU implementer", "CPU part")
        seen = {line.split(":")[0].strip(): line for line in lines if line.startswith(keys)}
        if seen:
            return "\n".join(sorted(seen.values()))
    except OSError:
        pass
    import platform
    return f"{platform.machine()} {platform.processor()}"


def aot_module() -> str:
    """Name of the ahead-of-time compiled module of these kernel sources on this CPU (in `macrostack`)."""
    digest = hashlib.sha256((sources_sha256() + "\0" + cpu_signature()).encode())
    return "_aot_" + digest.hexdigest()[:16]


@cache
def _aot():
    """The ahead-of-time compiled module of these sources when it was built, else None."""
    mode = os.environ.get("MACROSTACK_KERNELS", "").strip().lower()
    if mode not in ("", "aot", "jit"):
        from macrostack.errors import InputError
        raise InputError(f"unknown value {mode!r}", "MACROSTACK_KERNELS",
                         "unset it (the kernels compiled at install) or set it to jit (numba's JIT)")
    if mode == "jit":
        return None
    try:
        return importlib.import_module(f"macrostack.{aot_module()}")
    except (OSError, ImportError):
        return None


def compiled_ahead() -> bool:
    """True when `kernel()` returns the ahead-of-time compiled kernels."""
    return _aot() is not None


def _checked(symbol: str, fn):
    """`fn` with its arguments checked: arrays' dtype, rank and C order, integers for integer
    scalars. AOT code checks nothing (a float32 panel reads garbage, 21.5 becomes 21), where
    numba's JIT refuses what it has no compiled version for."""
    codes = EXPORTS[symbol][3]
    arrays = [(i, _ARRAY[a[0]], int(a[1])) for i, a in enumerate(codes) if a[0] in _ARRAY]
    integers = [i for i, a in enumerate(codes) if a == "i"]

    def call(*args):
        if len(args) != len(codes):
            raise TypeError(f"kernel {symbol} takes {len(codes)} arguments, got {len(args)}")
        for i, dtype, ndim in arrays:
            a = args[i]
            if type(a) is not np.ndarray or a.dtype != dtype or a.ndim != ndim or not a.flags.c_contiguous:
                raise TypeError(f"kernel {symbol}: argument {i} must be a C-ordered {dtype} array of rank "
                                f"{ndim}, got {getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}")
        for i in integers:
            if not isinstance(args[i], (int, np.integer)) or isinstance(args[i], (bool, np.bool_)):
                raise TypeError(f"kernel {symbol}: argument {i} must be an integer, got {args[i]!r}")
        return fn(*args)

    call.__name__ = call.__qualname__ = symbol
    return call


def kernel(symbol: str, checked: bool = True):
    """The callable of an export (`EXPORTS`): ahead-of-time compiled when available, else numba JIT.

    `checked=False` skips the argument checks of the AOT function (~2 µs a call): only for a
    caller that calls it thousands of times with arrays it made itself, of the right kind."""
    module, function, _, _ = EXPORTS[symbol]
    aot = _aot()
    if aot is not None:
        return _checked(symbol, getattr(aot, symbol)) if checked else getattr(aot, symbol)
    return getattr(importlib.import_module(f"macrostack.kernels.{module}"), function)
MARK = "cache" + "=True"  # spelled apart so that this module does not match itself


def kernels_cold(package: Path = KERNELS) -> bool:
    """True when the kernels will be compiled by this run: not compiled ahead of time and some
    module with cached kernels has no numba cache index beside it yet."""
    if package == KERNELS and compiled_ahead():
        return False
    for source in Path(package).rglob("*.py"):
        if MARK not in source.read_text(encoding="utf-8"):
            continue
        if not any((source.parent / "__pycache__").glob(f"{source.stem}.*.nbi")):
            return True
    return False


def preload_blas() -> None:
    """Let numba find scipy's BLAS/LAPACK without importing all of `scipy.linalg`.

    On its first compile or cache load numba checks that BLAS is available by importing
    `scipy.linalg.cython_blas`, which runs `scipy/linalg/__init__.py` and with it most of
    scipy (~0.2 s of every run's ~0.45 s numba start, on this VM; none of our kernels calls
    BLAS). The two Cython extension modules load on their own in ~10 ms; registered in
    `sys.modules` under their own names, numba's probe (and its `np.dot`/`np.linalg`, which
    read function pointers from them) find the real modules, and a later `import scipy.linalg`
    uses them too. Nothing happens when scipy.linalg is already imported, scipy is missing or
    anything about the files is unexpected: numba then imports scipy.linalg itself as before.
    (scipy is not our dependency: without it numba simply has no BLAS.) One difference: a later
    `import scipy.linalg` does not bind `scipy.linalg.cython_blas` as an attribute
    (`from scipy.linalg import cython_blas` and `importlib.import_module` find it).
    """
    import importlib.machinery
    import importlib.util
    import sys

    if "scipy.linalg" in sys.modules or "scipy.linalg.cython_blas" in sys.modules:
        return
    loaded = []
    try:
        spec = importlib.util.find_spec("scipy")
        folder = Path(next(iter(spec.submodule_search_locations))) / "linalg"
        for name in ("cython_blas", "cython_lapack"):
            path = next(folder / (name + s) for s in importlib.machinery.EXTENSION_SUFFIXES
                        if (folder / (name + s)).is_file())
            sub = importlib.util.spec_from_file_location(f"scipy.linalg.{name}", path)
            module = importlib.util.module_from_spec(sub)
            sys.modules[sub.name] = module
            loaded.append(sub.name)
            sub.loader.exec_module(module)
    except Exception:  # incomplete: leave it to numba to import scipy.linalg as before
        for name in loaded:
            sys.modules.pop(name, None)
