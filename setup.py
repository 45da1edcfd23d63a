"""Compile the kernels ahead of time at install (`macrostack.kernels.build`); everything else
about the package is in pyproject.toml.

The kernels are numba functions; compiled here into `macrostack/_aot_<sha>*.so` (named after the
sha256 of the kernel sources, `kernels.aot_module`), a run loads them in
~1 ms instead of importing numba and compiling (~10 s on a machine's first run, ~0.7 s of numba
start on every later one). If the build fails (no C compiler, say), the install still succeeds
and the kernels are compiled by numba on first use, as before.
"""

import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


SRC = Path(__file__).resolve().parent / "src"
sys.path.insert(0, str(SRC))
from macrostack.kernels import aot_module  # noqa: E402  (numpy only; numba is imported by the build)


class BuildKernels(build_ext):
    """`build_ext` for the one extension, `macrostack._aot_<sha>`, built by numba's AOT compiler."""

    def build_extension(self, ext):
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
        print(f"compiling macrostack's kernels ahead of time into {target.parent} (~20 s)", file=sys.stderr)
        done = subprocess.run([sys.executable, "-m", "macrostack.kernels.build", str(target.parent)], env=env)
        for stale in (SRC / "macrostack").glob("_aot_*"):  # modules of earlier kernel sources (editable installs)
            if not stale.name.startswith(aot_module() + "."):
                stale.unlink(missing_ok=True)
        if done.returncode != 0:
            print("warning: the kernels were not compiled ahead of time; numba will compile them on "
                  "first use (~10 s once per machine)", file=sys.stderr)


setup(ext_modules=[Extension(f"macrostack.{aot_module()}", sources=[])], cmdclass={"build_ext": BuildKernels})
