"""Array layouts of the rebalance loop's kernel (`kernels.book`), shared with the Python side
(`simulate`, `layers.execution`, `layers.allocator`) without importing numba."""

# Execution parameters, in this order in `params` (NaN = the constraint is off):
INSTRUMENT_CAP, GROSS_CAP, NO_TRADE_BUFFER, CAPITAL = range(4)
# Execution steps: `steps[k]` = the weights after step k (`layers.execution`).
ALLOCATED, CAPPED, GROSS_CAPPED, BUFFERED, EXECUTED = range(5)
# Allocator rule, in `rule`: enter limits (4), exit limits (4), dd_stress, dd_crisis, alpha,
# minimum, min_sessions_in_regime.
RULE_LENGTH = 13
# Rows of `daily`:
GROSS, COST, TRADED, NET = range(4)
# Scalar sources (`allocator.mode`):
SCALAR_OFF, SCALAR_COMPUTE, SCALAR_PRECOMPUTED = range(3)
