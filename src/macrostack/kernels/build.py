"""Compile the kernels ahead of time into one extension module (run by `setup.py` at install).

    python -m macrostack.kernels.build OUT_DIR

writes `OUT_DIR/_aot_<sources sha256>` + the extension suffix: every symbol of `EXPORTS`, with its
signature, compiled for this machine's CPU. Needs numba, numpy,
setuptools and a C compiler (numba's `pycc` links a small C module); it imports only the kernel
modules, not the rest of the package, so it runs in pip's isolated build environment.

numba's AOT compiler compiles with default flags: the GIL held and Python's error model. Our
kernels are `nogil` (the engines run column blocks on threads) and use numpy's error model, so
the same flags are set here for the duration of the build; the code generated is then the JIT's.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path


def build(out_dir: Path) -> Path:
    """Compile every export into `out_dir`; returns the extension module's path."""
    from llvmlite import binding
    from numba.core import compiler as numba_compiler
    from numba.pycc import CC, compiler as pycc_compiler

    from macrostack.kernels import EXPORTS, aot_module, numba_signature

    class KernelFlags(numba_compiler.Flags):
        """The JIT kernels' flags (`nogil=True, error_model="numpy"`) for the AOT build."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True
            self.error_model = "numpy"

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cc = CC(aot_module(), source_module="macrostack.kernels")
    cc.output_dir = str(out_dir)
    cc.target_cpu = binding.get_host_cpu_name()  # like the JIT: this machine's instructions
    for symbol, (module, function, _, _) in EXPORTS.items():
        dispatcher = getattr(importlib.import_module(f"macrostack.kernels.{module}"), function)
        cc.export(symbol, numba_signature(symbol))(dispatcher.py_func)
    saved = pycc_compiler.Flags
    pycc_compiler.Flags = KernelFlags
    try:
        cc.compile()
    finally:
        pycc_compiler.Flags = saved
    return out_dir / cc.output_file


def main() -> None:
    # A private numba cache, removed afterwards: the build must not load JIT caches compiled for
    # other flags.
    with tempfile.TemporaryDirectory(prefix="macrostack-aot-") as cache_dir:
        os.environ["NUMBA_CACHE_DIR"] = cache_dir
        print(build(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
