"""The default dataset: the 84 continuous futures shipped by the `trendfollowing` package.

The package (a dependency) ships CSV panels, dates × Bloomberg tickers, 1959–2026:
`tf_system_data_prices.csv` (continuous price), `tf_system_data_usd_returns.csv` (daily
simple return in USD, which we store as is), `tf_system_data_volume_costs.csv` (cost per
unit of notional traded, time-varying) and `tf_system_data_descriptive_df.csv` (asset
class and name). We read the files through `importlib.metadata`; none of the package's
code is imported.

Symbols: the ticker root without the generic number and yellow key ("ES1 Index" → ES,
"SFR5 Comdty" → SFR). Three roots occur under two yellow keys (SM, NO, QC): those get the
key as a suffix (SM_IDX = SMI index, SM_CMD = soybean meal). The original ticker is kept
in `source_ticker`.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, files
from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.data.dataset import Dataset, check_return_units, hash_files
from macrostack.errors import InputError

PACKAGE = "trendfollowing"
FILES = {
    "prices": "tf_system_data_prices.csv",
    "returns": "tf_system_data_usd_returns.csv",
    "costs": "tf_system_data_volume_costs.csv",
    "descriptive": "tf_system_data_descriptive_df.csv",
}
_KEY_SUFFIX = {"Index": "IDX", "Comdty": "CMD", "Curncy": "CUR"}
_TICKER = re.compile(r"^([A-Z]+?)\s*\d+\s+(Index|Comdty|Curncy)$")


def package_files() -> dict[str, Path]:
    """Locate the package's data files (installed distribution, no import)."""
    try:
        dist_files = files(PACKAGE) or []
    except PackageNotFoundError as exc:
        raise InputError(f"the {PACKAGE!r} package is not installed", None,
                         "pip install -e . (it is a dependency of macrostack)") from exc
    found = {}
    for f in dist_files:
        for key, name in FILES.items():
            if f.name == name and "futures" in str(f):
                found[key] = Path(f.locate())
    missing = sorted(set(FILES) - set(found))
    if missing:
        raise InputError(f"{PACKAGE} package lacks data files {missing}", None, f"reinstall {PACKAGE}")
    return found


def clean_symbols(tickers: list[str]) -> dict[str, str]:
    """Map Bloomberg generic tickers to short unique symbols (see module docstring)."""
    parsed = {}
    for t in tickers:
        m = _TICKER.match(t.strip())
        if not m:
            raise InputError(f"unrecognised ticker {t!r}", FILES["descriptive"])
        parsed[t] = (m.group(1), m.group(2))
    roots = pd.Series([root for root, _ in parsed.values()])
    clashing = set(roots[roots.duplicated()])
    return {t: (root if root not in clashing else f"{root}_{_KEY_SUFFIX[key]}") for t, (root, key) in parsed.items()}


def _read_panel(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0, engine="pyarrow")
    frame.index = pd.to_datetime(frame.index, format="%Y-%m-%d")
    return frame


def load(name: str = PACKAGE, progress=None) -> Dataset:
    """Read the package's panels into a `Dataset` (returns are the package's own USD returns)."""
    paths = package_files()
    desc = pd.read_csv(paths["descriptive"])
    symbols = clean_symbols(list(desc["ticker"]))
    panels = {}
    for key in ("prices", "returns", "costs"):
        panels[key] = _read_panel(paths[key])
        if progress:
            progress(1, f"read {FILES[key]}")
    prices, returns, costs = panels["prices"], panels["returns"], panels["costs"]
    if list(prices.columns) != list(desc["ticker"]) or not (
        prices.columns.equals(returns.columns) and prices.index.equals(returns.index)
    ):
        raise InputError("price/return panels do not match the descriptive file", str(paths["prices"]),
                         f"reinstall {PACKAGE}")

    for ticker in returns.columns:
        check_return_units(returns[ticker].to_numpy(), returns.index, symbols[ticker],
                           lambda i, ticker=ticker: f"{paths['returns']}, column {ticker!r}")

    # Long form: one bar per (ticker, date) where the continuous price exists.
    dates = prices.index.to_numpy()
    price_arr = prices.to_numpy(dtype=float)
    rows, cols = np.nonzero(~np.isnan(price_arr))
    order = np.lexsort((rows, cols))  # by ticker, then date
    rows, cols = rows[order], cols[order]
    tickers = np.array(prices.columns)
    bars = pd.DataFrame({
        "symbol": np.array([symbols[t] for t in tickers])[cols],
        "date": dates[rows],
        "adjusted_close": price_arr[rows, cols],
        "ret": returns.to_numpy(dtype=float)[rows, cols],
        "cost": costs.to_numpy(dtype=float)[rows, cols],
    })
    last_cost = costs.ffill().iloc[-1]
    instruments = pd.DataFrame({
        "symbol": [symbols[t] for t in desc["ticker"]],
        "name": [n.replace("_", " ").strip().title() for n in desc["names"]],
        "asset_class": desc["group_data"],
        "currency": "USD",  # returns are already in USD; the local currency is not shipped
        "point_size": np.nan,  # not shipped: contract rounding is unavailable on this dataset
        "cost": [float(last_cost[t]) for t in desc["ticker"]],
        "source_ticker": desc["ticker"],
        "return_basis": "source_usd_return",
    })
    if progress:
        progress(1, "normalised")
    dist_version = _version()
    return Dataset(
        name=name, source=PACKAGE, parameters={"package_version": dist_version},
        instruments=instruments, bars=bars, content_hash=hash_files(paths.values()),
        origin=str(paths["returns"].parent),
    )


def _version() -> str:
    from importlib.metadata import version
    return version(PACKAGE)
