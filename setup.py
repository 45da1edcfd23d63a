"""Compile the kernels ahead of time at install (`macrostack.kernels.build`); everything else
about the package is in pyproject.toml.

The kernels are numba functions; compiled here into `macrostack/_aot_<sha>*.so` (the name hashes
the kernel sources and the CPU, `kernels.aot_module`), a run loads them in ~1 ms instead of
importing numba and compiling (~10 s on a machine's first run, ~0.7 s of numba start on every
later one). If the build fails (no C compiler, say), the install still succeeds without the
module and the kernels are compiled by numba on first use, as before.
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

# The build runs in a child process that puts this tree first on its path itself: pip's build
# isolation drops PYTHONPATH entries that an installed (editable) copy also adds.
BUILD = f"import sys; sys.path.insert(0, {str(SRC)!r}); from macrostack.kernels.build import main; main()"


class BuildKernels(build_ext):
    """`build_ext` for the one extension, `macrostack._aot_<sha>`, built by numba's AOT compiler;
    left out of the install (not an error) when it cannot be built."""

    def build_extensions(self):
        built = []
        for ext in self.extensions:
            target = Path(self.get_ext_fullpath(ext.name)).resolve()
            print(f"compiling macrostack's kernels ahead of time into {target.parent} (~20 s)", file=sys.stderr)
            done = subprocess.run([sys.executable, "-c", BUILD, str(target.parent)])
            if done.returncode == 0 and target.is_file():
                built.append(ext)
                for stale in (SRC / "macrostack").glob("_aot_*"):  # earlier sources' modules (editable installs)
                    if not stale.name.startswith(aot_module() + "."):
                        stale.unlink(missing_ok=True)
            else:
                print("warning: macrostack's kernels were not compiled ahead of time (see above); numba will "
                      "compile them on first use (~10 s, cached)", file=sys.stderr)
        self.extensions = built  # what was not built is not an output to install


setup(ext_modules=[Extension(f"macrostack.{aot_module()}", sources=[])], cmdclass={"build_ext": BuildKernels})
