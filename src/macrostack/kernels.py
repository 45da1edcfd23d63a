"""Whether the compiled (numba) kernels still have to be compiled on this machine.

The kernels are compiled on first use and cached beside their modules (`__pycache__/*.nbi`
index files), so only the first run on a machine pays ~10 s. The CLI says so up front instead
of leaving the user to wonder why the first run is slow.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
MARK = "cache" + "=True"  # spelled apart so that this module does not match itself


def kernels_cold(package: Path = PACKAGE) -> bool:
    """True when some module with cached kernels has no numba cache index beside it yet."""
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
