"""Windows and table columns of the allocator, shared by its kernels (`kernels.state`,
`kernels.regime`) and the Python side (`layers.allocator`) without importing numba."""

VOL_SHORT = 20  # sessions in the short realised-vol window (port_rvol_20)
VOL_LONG = 60  # sessions in the long realised-vol window (port_rvol_60)
DD_SLOPE_LAG = 10  # sessions between the two drawdowns of dd_slope_10
CORR_SHORT = 20  # sessions in the short correlation window (corr_20)
CORR_LONG = 60  # sessions in the long correlation window (corr_60)

FEATURES = (
    "port_rvol_20",
    "port_rvol_60",
    "vol_accel",
    "dd_level",
    "dd_slope_10",
    "corr_20",
    "corr_60",
    "corr_shock",
)
# Columns of the feature table, in FEATURES order.
RVOL_SHORT, RVOL_LONG, VOL_ACCEL, DD_LEVEL, DD_SLOPE, CORR_S, CORR_L, CORR_SHOCK = range(len(FEATURES))

STRESS, CRISIS = 2, 3  # regime codes (`regime.Regime`; a test checks they agree)
# Columns of the decision table: regime, enter score, exit score, target scalar, smoothed scalar.
REGIME, ENTER, EXIT, TARGET, SCALAR = range(5)
