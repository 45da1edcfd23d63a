"""The compiled kernels: built ahead of time at install, the same bits as numba's JIT, checked calls."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from macrostack import kernels
from macrostack.kernels.allocator_layout import CRISIS, STRESS
from macrostack.layers.allocator.regime import Regime


def test_the_install_compiled_the_kernels_ahead_of_time():
    # README's install (`pip install -e .`) runs setup.py, which builds macrostack/_aot*.so from
    # exactly these kernel sources; a run then neither imports numba nor compiles.
    assert kernels.compiled_ahead(), "reinstall (pip install -e .) to compile the kernels ahead of time"


def test_a_run_neither_imports_numba_nor_compiles(tf_store_path, tmp_path):
    code = ("import sys; from macrostack.runner import run_stack; "
            f"run_stack('core', start='2015-01-01', end='2016-12-31', out={str(tmp_path)!r}, "
            f"store={str(tf_store_path)!r}, report=False); "
            "print('numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_ahead_of_time_and_jit_kernels_give_the_same_bits(tf_store_path, tmp_path):
    """Every kernel runs in a `core` run (trend, EWMAC, csmom's cumulative sums, the allocator's
    features and regimes): its files must be byte-identical whichever way the kernels were compiled."""
    runs = {}
    for mode in ("aot", "jit"):
        env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path), "MACROSTACK_KERNELS": mode}
        subprocess.run([sys.executable, "-m", "macrostack.cli", "run", "core", "--start", "1995-01-01",
                        "--no-report", "--quiet", "--out", str(tmp_path), "--run-id", mode],
                       env=env, check=True, capture_output=True)
        runs[mode] = tmp_path / mode
    files = sorted(p.relative_to(runs["aot"]) for p in runs["aot"].rglob("*.parquet"))
    assert len(files) >= 8
    for f in files:
        assert (runs["aot"] / f).read_bytes() == (runs["jit"] / f).read_bytes(), f


@pytest.mark.parametrize("bad", [
    np.ones((4, 3), dtype=np.float32),          # wrong dtype: AOT code would read garbage or crash
    np.ones((4, 6))[:, ::2],                    # not C-ordered: AOT code would read the wrong cells
    np.ones(12),                                # wrong rank
    [[1.0, 2.0]],                               # not an array
])
def test_compiled_kernels_refuse_arguments_of_the_wrong_kind(bad):
    cumsum = kernels.kernel("cumsum_rows_f8")
    if not kernels.compiled_ahead():
        pytest.fail("kernels not compiled ahead of time")
    with pytest.raises(TypeError, match="cumsum_rows_f8: argument 0"):
        cumsum(bad, np.empty((4, 3)))


def test_every_export_has_a_signature_and_a_kernel():
    for symbol, (module, function, _, _) in kernels.EXPORTS.items():
        assert kernels.numba_signature(symbol).count("(") >= 1
        assert callable(kernels.kernel(symbol))
    assert kernels.numba_signature("cumsum_rows_i8") == "void(int64[:, ::1], int64[:, ::1])"


def test_regime_codes_agree_with_the_kernels():
    assert (STRESS, CRISIS) == (int(Regime.STRESS), int(Regime.CRISIS))


def test_an_unknown_kernels_setting_is_one_line_naming_the_variable(tf_store_path, tmp_path):
    env = {**os.environ, "MACROSTACK_STORE": str(tf_store_path), "MACROSTACK_KERNELS": "jti"}
    done = subprocess.run([sys.executable, "-m", "macrostack.cli", "run", "trend_only", "--start", "2019-01-01",
                           "--no-report", "--out", str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "MACROSTACK_KERNELS" in done.stderr and "jit" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not any(tmp_path.iterdir())
