"""Futures data in the CSV layout of robcarver17/pysystemtrade (`data/futures/`).

Folder layout read by `load(path)`:

- `adjusted_prices_csv/<CODE>.csv` (`DATETIME,price`): Panama back-adjusted price. One
  instrument per file; the file set defines the instruments (symbol = source_ticker = CODE).
- `multiple_prices_csv/<CODE>.csv` (`DATETIME,CARRY,CARRY_CONTRACT,PRICE,PRICE_CONTRACT,
  FORWARD,FORWARD_CONTRACT`): price and id of the held contract (PRICE), the carry and
  the forward contract. Optional per instrument.
- `fx_prices_csv/<CCY>USD.csv` (`DATETIME,PRICE`): USD per unit of CCY. Required for every
  non-USD instrument currency.
- `csvconfig/instrumentconfig.csv` (Description, Pointsize, Currency, AssetClass, PerBlock,
  Percentage, PerTrade) and `csvconfig/spreadcosts.csv` (SpreadCost).

Sessions. Timestamps are naive `YYYY-MM-DD HH:MM:SS` (UTC) and files mix daily and intraday
rows. The session of a row is the calendar date of its timestamp, except that Saturday- and
Sunday-stamped rows (Asian / Sunday-evening trading) belong to the following Monday.

The session close of an adjusted price is the last price *observed* up to 22:00:00 of the
session. Rows stamped after 22:00 count only on a session without such an observation (the
daily-only era, where the one row a day is the 23:00:00 daily bar). Why: from the start of
intraday rows, the 23:00:00 row is a daily bar with a notional time, and in the hourly era
(~2009–2021) it is mostly the *previous* session's close (its day-to-day changes correlate
0.6–0.9 with the hourly closes' changes one session earlier, 0.0–0.5 the same session:
BRENT_W, CAD, SILVER, US30, NASDAQ …); rows at 23:15–23:45 are the next session's evening
trading. Taking the calendar day's last row mixed these into the returns: on 2013–2017
sessions the correlation of SILVER with GOLD was 0.20 (0.79 with this rule), US30 with US20
0.11 (0.83), BRENT_W with CRUDE_W 0.16 (0.80); no pair of the same exchange lost more than
0.02. The cost: in the snapshot years (2–4 irregular intraday rows a day, ~2013–2017 for some
US instruments) the last observation can be hours before the close.

Multiple prices: per session the last row with a non-empty PRICE, with CARRY/FORWARD and the
contract ids taken from that same row (so the carry engine's held and carry prices are always
simultaneous; there the 23:00 daily bar carries CARRY/FORWARD most often). Only the held
contract id and the return's denominator PRICE[d-1] come from this file; a day's stale
denominator changes a return by the day's move in relative terms (~1 %), not its sign or
timing. FX files have daily rows only (00:00 / 23:00): the last row of the session.

Returns, per session d of instrument i (its own sessions that have an adjusted price):

    r_loc[d] = (adj[d] − adj[d-1]) / PRICE[d-1]            (local currency, fraction)

where PRICE[d-1] is the held-contract price of the previous session, or the most recent
earlier PRICE if the multiple file has none on d-1 (forward fill only). Differences of the
Panama-adjusted price are true contract P&L in price units, so this is the P&L of holding
one unit of notional of the contract held at the close of d-1. Instruments without a
multiple-prices file use the adjusted level instead (`return_basis = "adjusted_level"`,
an approximation):  r_loc[d] = (adj[d] − adj[d-1]) / adj[d-1]  if adj[d-1] > 0, else NaN.

    r_usd[d] = r_loc[d] × fx[d] / fx[d-1]

(local P&L converted at today's rate over yesterday's USD notional), with fx = USD per unit
of the instrument's currency on or before the session (forward fill of the last known rate;
NaN before the FX file starts). USD instruments: r_usd = r_loc. The first session is NaN.

Cost per unit of notional traded (a fraction, constant over time, in the instrument's own
currency so no FX is needed):

    k = SpreadCost / P + PerBlock / (P × Pointsize) + Percentage

with P the last held-contract price (last PRICE of the multiple file; for instruments
without one, the last adjusted price if > 0, else the cost is unknown = NaN). SpreadCost is
slippage per contract in price units, PerBlock the commission per contract in currency and
Percentage a commission as a fraction of notional. PerTrade (a fixed fee per trade) does
not scale with notional and is ignored. Upstream takes the max of the commissions; we add
them, which is conservative and equals the max here (only PerBlock is non-zero upstream).

Choices where the format is silent:

- Bars exist only on sessions with an adjusted price; multiple-price sessions without one
  are used only as earlier PRICEs for the denominator. `price`, `carry`, `forward` and the
  contract ids are NaN/empty on a session where the multiple file has no PRICE.
- The multiple-prices file and the FX files are optional per instrument / currency; only
  FX files of currencies that instruments use are read (and stored in `fx`).
- Empty PerBlock/Percentage/SpreadCost mean 0; Pointsize must be > 0; duplicate config rows
  are errors. Text in a number column is an error, like ±inf; so is an FX rate <= 0.
- Timestamps must match `YYYY-MM-DD HH:MM:SS` exactly. Line numbers in errors count the
  header as line 1 (blank lines are skipped by the reader and not counted).

Derived front-contract instruments (`<CODE>_FRONT`, `return_basis = "derived_front"`). For a
volatility future (AssetClass "Vol") whose multiple prices carry the *nearer* contract
(CarryOffset −1: VIX and V2X hold the second month and carry the first), the front contract's
own daily returns are derived so a calendar spread can trade it:

    front id F_c[d] = CARRY_CONTRACT[d], price F[d] = CARRY[d]   (when CARRY_CONTRACT < PRICE_CONTRACT)
    r_loc[d] = (F[d] − F[d-1]) / F[d-1]          if F_c[d] == F_c[d-1]    (same contract day to day)
             = (F[d] − PRICE[d-1]) / PRICE[d-1]  if F_c[d] == PRICE_CONTRACT[d-1]
                                                 (the held contract became the front: its own previous price)
             = NaN otherwise (no price on d or d-1, or an unrelated contract change)

with d-1 the parent's previous session (no forward fill: a missing front price is no return),
converted to USD like the parent. A front price that jumps by a factor of 1.5 or more from the
previous session and back on the next (same contract on all three) is a bad tick and is
dropped (VIX: one session, 2014-07-04, CARRY 12.95 → 5.20 → 12.95), from the parent's CARRY
column too (the VRP engines read it as the implied level). Sessions are the parent's; `price`/`price_contract` hold
F/F_c, `adjusted_close` the cumulative sum of the front's price changes (a Panama-style level
ending at the last front price), `carry`/`forward` are empty. The cost uses the parent's
SpreadCost and PerBlock with P = the last front price. Derived instruments are part of the
dataset but not of a run's default universe (`data.universe: null`) unless an engine that
trades them is configured (`engines.uses_derived`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from macrostack.data.calendar import asof
from macrostack.data.dataset import FX_COLUMNS, Dataset, check_price_steps, check_return_units, \
    drop_reverting_spikes, hash_files
from macrostack.errors import InputError
from macrostack.userfiles import check_readable

SOURCE = "pysystemtrade"
ADJ_DIR, MULT_DIR, FX_DIR, CFG_DIR = "adjusted_prices_csv", "multiple_prices_csv", "fx_prices_csv", "csvconfig"
TS_COL, TS_FORMAT = "DATETIME", "%Y-%m-%d %H:%M:%S"
CONTRACT_PRICES = ("PRICE", "CARRY", "FORWARD")
CONTRACT_IDS = ("PRICE_CONTRACT", "CARRY_CONTRACT", "FORWARD_CONTRACT")
CONFIG_COLUMNS = ("Instrument", "Description", "Pointsize", "Currency", "AssetClass", "PerBlock", "Percentage")
_LINE_OFFSET = 2  # data row 0 is line 2 of the file (line 1 is the header)


# --------------------------------------------------------------------------- reading


def _where(path: Path, row: int | None = None, column: str | None = None) -> str:
    """Error location: 'file, line N, column C'."""
    parts = [str(path)]
    if row is not None:
        parts.append(f"line {row + _LINE_OFFSET}")
    if column is not None:
        parts.append(f"column {column}")
    return ", ".join(parts)


def _show(value) -> str:
    """A cell value for an error message: text quoted, numbers plain, missing as 'empty'."""
    if pd.isna(value):
        return "empty"
    return repr(value) if isinstance(value, str) else str(value)


def _read_table(path: Path, required: tuple[str, ...], numeric: tuple[str, ...] = (),
                text: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read one CSV with pyarrow: DATETIME and `text` columns as strings, `numeric` as float64.

    If typed reading fails (a non-number in a numeric column), the file is re-read as text so
    that `_parse_numbers` can name the offending line."""
    check_readable(path, fix="restore the file or point to the right folder")
    dtype = {TS_COL: "string", **{c: "string" for c in text}, **{c: "float64" for c in numeric}}
    try:
        frame = pd.read_csv(path, engine="pyarrow", dtype=dtype)
    except ValueError:
        try:
            frame = pd.read_csv(path, engine="pyarrow", dtype="string")
        except ValueError as exc:  # ragged rows, empty file, bad encoding
            raise InputError(f"cannot parse CSV ({exc})", str(path),
                             "fix the file so every row has the header's columns") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; found {list(frame.columns)}", str(path),
                         f"the header must contain {list(required)}")
    return frame


def _parse_timestamps(frame: pd.DataFrame, path: Path) -> pd.Series:
    """Parse DATETIME (`YYYY-MM-DD HH:MM:SS`); must be strictly increasing within the file."""
    raw = frame[TS_COL]
    ts = pd.to_datetime(raw, format=TS_FORMAT, errors="coerce")
    bad = np.flatnonzero(ts.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise InputError(f"unparsable date {raw.iloc[i]!r}", _where(path, i, TS_COL),
                         "write timestamps as YYYY-MM-DD HH:MM:SS")
    values = ts.to_numpy()
    step = np.flatnonzero(values[1:] <= values[:-1])
    if len(step):
        i = int(step[0]) + 1
        kind = "duplicate timestamp" if values[i] == values[i - 1] else "timestamp earlier than the previous row"
        raise InputError(f"{kind} {raw.iloc[i]!r}", _where(path, i, TS_COL),
                         "rows must be sorted by DATETIME with no repeats; drop or fix the row")
    return ts


def _parse_numbers(frame: pd.DataFrame, path: Path, column: str, positive: str | None = None) -> pd.Series:
    """Column as float64 (empty = NaN). Text and ±inf are errors; so is a value <= 0 when
    `positive` names what the column holds (e.g. "contract price")."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    arr = values.to_numpy()
    checks = [(np.isnan(arr) & raw.notna().to_numpy(), "not a number:", "write a decimal number or leave it empty"),
              (np.isinf(arr), "non-finite value", "replace it by a finite price or leave it empty")]
    if positive:
        checks.append((arr <= 0, f"non-positive {positive}", f"{positive}s must be > 0; fix or drop the row"))
    for mask, what, fix in checks:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise InputError(f"{what} {_show(raw.iloc[i])}", _where(path, i, column), fix)
    return values


def session_dates(ts: pd.Series) -> pd.Series:
    """Session of each timestamp: its calendar date; Saturday/Sunday → the following Monday."""
    day = ts.dt.normalize()
    dow = day.dt.day_of_week.to_numpy()
    shift = np.where(dow >= 5, 7 - dow, 0)  # Sat (5) + 2, Sun (6) + 1 → Monday
    return day + pd.to_timedelta(shift, unit="D")


def _last_per_session(frame: pd.DataFrame, ts: pd.Series, value_col: str,
                      cutoff: pd.Timedelta | None = None) -> pd.DataFrame:
    """Rows with a non-NaN `value_col`, keeping the last one of each session; adds `date`.

    With `cutoff` (the session close, module docstring): the last row stamped at or before
    that time of day, or on a session without one, its last row."""
    keep = frame[value_col].notna().to_numpy()
    out = frame.loc[keep].assign(date=session_dates(ts[keep]))
    if cutoff is not None:
        stamp = ts[keep]
        observed = ((stamp - stamp.dt.normalize()) <= cutoff).to_numpy()
        has_observed = pd.Series(observed).groupby(out["date"].to_numpy()).transform("any").to_numpy()
        out = out.loc[observed | ~has_observed]
    # Timestamps are strictly increasing and the session map is monotone, so "last" = latest.
    return out.drop_duplicates("date", keep="last").reset_index(drop=True)


CLOSE_CUTOFF = pd.Timedelta(hours=22)  # observations after 22:00 UTC are daily bars or the next session's


def read_adjusted(path: Path) -> pd.DataFrame:
    """Adjusted prices per session (the session close, see the module docstring): date, adjusted_close."""
    frame = _read_table(path, (TS_COL, "price"), numeric=("price",))
    ts = _parse_timestamps(frame, path)
    frame = pd.DataFrame({"adjusted_close": _parse_numbers(frame, path, "price")})
    return _last_per_session(frame, ts, "adjusted_close", CLOSE_CUTOFF)[["date", "adjusted_close"]]


def read_multiple(path: Path) -> pd.DataFrame:
    """Held/carry/forward contract prices per session (last row with a PRICE); ids as text."""
    frame = _read_table(path, (TS_COL, *CONTRACT_PRICES, *CONTRACT_IDS), numeric=CONTRACT_PRICES, text=CONTRACT_IDS)
    ts = _parse_timestamps(frame, path)
    out = pd.DataFrame({c.lower(): _parse_numbers(frame, path, c, positive="contract price") for c in CONTRACT_PRICES})
    for c in CONTRACT_IDS:
        ids = frame[c].astype("string").str.strip()
        # YYYYMM00 / YYYYMMDD with a month 1..12 (`carry.contract_months` reads them as months)
        ok = ids.isna() | (ids == "") | (ids.str.fullmatch(r"\d{4}(0[1-9]|1[0-2])\d{2}").fillna(False))
        if not ok.all():
            i = int(np.flatnonzero(~ok.to_numpy(dtype=bool))[0])
            raise InputError(f"contract id {_show(frame[c].iloc[i])} is not YYYYMMDD", _where(path, i, c),
                             "write contract ids like 20240600 (year, month, day or 00) or leave the cell empty")
        out[c.lower()] = ids
    sessions = _last_per_session(out, ts, "price")
    for c in CONTRACT_PRICES:
        check_price_steps(sessions[c.lower()], sessions["date"], path.stem, c,
                          lambda i, c=c: f"{path}, session {sessions['date'].iloc[i].date()}, column {c}")
    return sessions


def read_fx(path: Path, currency: str) -> pd.DataFrame:
    """FX sessions: currency, date, usd_per_unit (last rate of each session, must be > 0)."""
    frame = _read_table(path, (TS_COL, "PRICE"), numeric=("PRICE",))
    ts = _parse_timestamps(frame, path)
    rates = pd.DataFrame({"usd_per_unit": _parse_numbers(frame, path, "PRICE", positive="FX rate")})
    out = _last_per_session(rates, ts, "usd_per_unit")
    return out.assign(currency=currency)[["currency", "date", "usd_per_unit"]]


def read_config(folder: Path) -> tuple[pd.DataFrame, pd.Series, list[Path]]:
    """instrumentconfig.csv indexed by Instrument, SpreadCost by Instrument, and the two paths."""
    cfg_path, spread_path = folder / "instrumentconfig.csv", folder / "spreadcosts.csv"
    cfg = _read_config_table(cfg_path, CONFIG_COLUMNS)
    cfg["Pointsize"] = _config_numbers(cfg, cfg_path, "Pointsize", required=True)
    for col in ("PerBlock", "Percentage"):
        cfg[col] = _config_numbers(cfg, cfg_path, col)
    for col in ("Description", "AssetClass", "Currency"):
        cfg[col] = cfg[col].str.strip()
    empty = np.flatnonzero((cfg["Currency"].isna() | (cfg["Currency"] == "")).to_numpy())
    if len(empty):
        raise InputError("empty Currency", _where(cfg_path, int(empty[0]), "Currency"), "give the ISO code, e.g. USD")
    cfg["Currency"] = cfg["Currency"].str.upper()
    spreads = _read_config_table(spread_path, ("Instrument", "SpreadCost"))
    spreads["SpreadCost"] = _config_numbers(spreads, spread_path, "SpreadCost")
    return cfg.set_index("Instrument"), spreads.set_index("Instrument")["SpreadCost"], [cfg_path, spread_path]


def _read_config_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A small config CSV read as text; Instrument must be unique."""
    check_readable(path, "config file", fix=f"restore {CFG_DIR}/{path.name}")
    try:
        frame = pd.read_csv(path, dtype="string", skipinitialspace=True)
    except ValueError as exc:
        raise InputError(f"cannot parse CSV ({exc})", str(path), "fix the file")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}", str(path), f"the header must contain {list(required)}")
    frame["Instrument"] = frame["Instrument"].str.strip()
    dup = np.flatnonzero(frame["Instrument"].duplicated().to_numpy())
    if len(dup):
        i = int(dup[0])
        raise InputError(f"duplicate Instrument {frame['Instrument'].iloc[i]!r}", _where(path, i, "Instrument"),
                         "keep one row per instrument")
    return frame


def _config_numbers(frame: pd.DataFrame, path: Path, col: str, required: bool = False) -> pd.Series:
    """Numeric config column. `required` (Pointsize): finite and > 0. Otherwise (costs):
    empty means 0, else finite and >= 0."""
    raw = frame[col]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    if not required:
        values = values.where(raw.notna(), 0.0)
    arr = values.to_numpy()
    bad = ~np.isfinite(arr) | (arr <= 0 if required else arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{col} must be a finite number {'> 0' if required else '>= 0'}, got {_show(raw.iloc[i])}",
                         _where(path, i, col), f"set {col} for instrument {frame['Instrument'].iloc[i]}")
    return values


# --------------------------------------------------------------------------- computing


MAX_LEVEL_RETURN = 0.5  # |daily return| above this on an adjusted-level basis is an artefact


def usd_returns(adjusted: np.ndarray, denominator_prev: np.ndarray,
                fx_now: np.ndarray | None, fx_prev: np.ndarray | None) -> np.ndarray:
    """r_usd[d] = (adj[d] − adj[d-1]) / denom[d-1] × fx[d] / fx[d-1]; r[0] = NaN.

    `denominator_prev[d]` is already the denominator for session d (PRICE of d-1, etc.);
    fx arrays are aligned the same way (None = USD instrument)."""
    ret = np.full(len(adjusted), np.nan)
    if len(adjusted) > 1:
        ret[1:] = np.diff(adjusted) / denominator_prev[1:]
        if fx_now is not None:
            ret[1:] *= fx_now[1:] / fx_prev[1:]
    return ret


def instrument_bars(code: str, adj: pd.DataFrame, mult: pd.DataFrame | None,
                    fx: pd.DataFrame | None) -> tuple[pd.DataFrame, float]:
    """Bars of one instrument and its reference price P (for costs).

    `adj`: date, adjusted_close; `mult`: date, price, carry, forward, *_contract (or None);
    `fx`: date, usd_per_unit (None for USD instruments)."""
    bars = adj.copy()
    dates = bars["date"].to_numpy(dtype="datetime64[us]")
    prev = np.roll(dates, 1)  # session d-1 of each session d
    prev[:1] = np.datetime64("NaT")
    adjusted = bars["adjusted_close"].to_numpy(float)
    if mult is not None:
        bars = bars.merge(mult, on="date", how="left")  # exact session match: NaN where none
        mdates = mult["date"].to_numpy(dtype="datetime64[us]")
        denominator = asof(mdates, mult["price"].to_numpy(float), prev)
        ref_price = float(mult["price"].iloc[-1]) if len(mult) else np.nan
    else:
        prev_adj = np.roll(adjusted, 1)
        prev_adj[:1] = np.nan
        denominator = np.where(prev_adj > 0, prev_adj, np.nan)  # level <= 0 is meaningless
        ref_price = float(adjusted[-1]) if len(adjusted) and adjusted[-1] > 0 else np.nan
    fx_now = fx_prev = None
    if fx is not None:
        fdates, frates = fx["date"].to_numpy(dtype="datetime64[us]"), fx["usd_per_unit"].to_numpy(float)
        fx_now, fx_prev = asof(fdates, frates, dates), asof(fdates, frates, prev)
    ret = usd_returns(adjusted, denominator, fx_now, fx_prev)
    if mult is None:
        # Dividing by a back-adjusted level near zero manufactures moves of ±100%+ (HEATOIL
        # "−4,600%"); no listed future moves like that in a day, so those are not returns.
        ret[np.abs(ret) > MAX_LEVEL_RETURN] = np.nan
    bars["ret"] = ret
    bars["symbol"] = code
    return bars, ref_price


FRONT_SUFFIX = "_FRONT"
DERIVED_FRONT = "derived_front"
FRONT_ASSET_CLASS = "Vol"
# Part of the content hash: the same files give other data when the derivation changes, and a
# run id (config + data hash) must then change too.
DERIVATION = "derived_front v1: front contract from CARRY, reverting ticks ×1.5 dropped"


def front_contract_bars(bars: pd.DataFrame, fx: pd.DataFrame | None) -> pd.DataFrame | None:
    """Bars of the derived front-contract instrument of a parent with multiple prices (module
    docstring), or None when the carry contract is never the nearer one (nothing to derive)."""
    if "carry_contract" not in bars:
        return None
    held = pd.to_numeric(bars["price_contract"], errors="coerce").to_numpy(float)
    carry_id = pd.to_numeric(bars["carry_contract"], errors="coerce").to_numpy(float)
    carry_px = bars["carry"].to_numpy(float)
    is_front = (carry_id < held) & np.isfinite(carry_px)
    if not is_front.any():
        return None
    front = np.where(is_front, carry_px, np.nan)
    front_id = np.where(is_front, carry_id, np.nan)
    # A one-session spike that reverts (VIX CARRY 12.95 → 5.20 → 12.95 on the 2014-07-04
    # holiday) is a bad tick, not a return: drop that price (see the module docstring).
    front = drop_reverting_spikes(front, front_id)
    prev_front, prev_id, prev_held_id = (np.roll(a, 1) for a in (front, front_id, held))
    prev_held_px = np.roll(bars["price"].to_numpy(float), 1)
    same = front_id == prev_id
    rolled = ~same & (front_id == prev_held_id)
    denominator = np.where(same, prev_front, np.where(rolled, prev_held_px, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        change = front - denominator
        ret = change / denominator
    ret[0] = change[0] = np.nan
    if fx is not None:
        dates = bars["date"].to_numpy(dtype="datetime64[us]")
        prev = np.roll(dates, 1)
        prev[:1] = np.datetime64("NaT")
        fdates, frates = fx["date"].to_numpy(dtype="datetime64[us]"), fx["usd_per_unit"].to_numpy(float)
        ret *= asof(fdates, frates, dates) / asof(fdates, frates, prev)
    level = np.cumsum(np.nan_to_num(change))
    last = np.flatnonzero(np.isfinite(front))[-1]
    level += front[last] - level[last]
    ids = pd.Series(bars["carry_contract"]).where(is_front, None)
    return pd.DataFrame({"date": bars["date"], "adjusted_close": np.where(np.isfinite(front), level, np.nan),
                         "price": front, "price_contract": ids, "carry": np.nan, "carry_contract": None,
                         "forward": np.nan, "forward_contract": None, "ret": ret})


def cost_per_notional(spread: float, per_block: float, percentage: float, point_size: float, price: float) -> float:
    """k = SpreadCost / P + PerBlock / (P × Pointsize) + Percentage  (fraction of notional)."""
    if not np.isfinite(price) or price <= 0:
        return np.nan
    return spread / price + per_block / (price * point_size) + percentage


# --------------------------------------------------------------------------- entry point


def load(path: str | Path, name: str = SOURCE, progress=None) -> Dataset:
    """Read a pysystemtrade data folder into a validated `Dataset` (see module docstring).

    `progress(advance, description)`, if given, is called once per instrument."""
    root = Path(path).expanduser().resolve()
    adj_dir = root / ADJ_DIR
    if not adj_dir.is_dir():
        raise InputError(f"folder {ADJ_DIR}/ not found", str(root),
                         f"point to a pysystemtrade data folder containing {ADJ_DIR}/, {MULT_DIR}/, {FX_DIR}/, {CFG_DIR}/")
    adj_files = sorted(adj_dir.glob("*.csv"))
    if not adj_files:
        raise InputError(f"no <CODE>.csv files in {ADJ_DIR}/", str(adj_dir), "add the adjusted price files")
    config, spreads, files_read = read_config(root / CFG_DIR)
    cfg_path = files_read[0]

    codes = [f.stem for f in adj_files]
    for f, code in zip(adj_files, codes):
        if code not in config.index:
            raise InputError(f"instrument {code!r} has no row in {cfg_path}", str(f),
                             f"add a row for {code} to {CFG_DIR}/instrumentconfig.csv or remove the file")
    fx_tables = _read_fx_tables(root, codes, config)
    files_read += [root / FX_DIR / f"{ccy}USD.csv" for ccy in fx_tables]

    bars_list, instruments = [], []
    for f, code in zip(adj_files, codes):
        row = config.loc[code]
        mult_path = root / MULT_DIR / f.name
        has_mult = mult_path.exists()  # a directory or unreadable file there is an error, not "absent"
        mult = read_multiple(mult_path) if has_mult else None
        bars, ref_price = instrument_bars(code, read_adjusted(f), mult, fx_tables.get(row["Currency"]))
        source = f"{f}" + (f" and {MULT_DIR}/{mult_path.name}" if has_mult else "")  # r = Δadjusted / PRICE
        check_return_units(bars["ret"], bars["date"], code, lambda i, source=source: source)
        files_read += [f] + ([mult_path] if has_mult else [])
        cost = cost_per_notional(float(spreads.get(code, 0.0)), row["PerBlock"], row["Percentage"],
                                 row["Pointsize"], ref_price)
        bars["cost"] = cost
        bars_list.append(bars)
        instruments.append({
            "symbol": code, "name": row["Description"], "asset_class": row["AssetClass"],
            "currency": row["Currency"], "point_size": row["Pointsize"], "cost": cost,
            "source_ticker": code, "return_basis": "contract_price" if has_mult else "adjusted_level",
        })
        if progress:
            progress(1, code)
        derived = None
        if has_mult and row["AssetClass"] == FRONT_ASSET_CLASS:
            # The front (CARRY) price feeds the VRP implied level and the derived front: drop bad ticks.
            bars["carry"] = drop_reverting_spikes(bars["carry"].to_numpy(float),
                                                  pd.to_numeric(bars["carry_contract"], errors="coerce").to_numpy(float))
            derived = front_contract_bars(bars, fx_tables.get(row["Currency"]))
        if derived is not None:
            symbol = code + FRONT_SUFFIX
            check_return_units(derived["ret"], derived["date"], symbol, lambda i, source=source: source)
            last_front = derived["price"].dropna()
            front_cost = cost_per_notional(float(spreads.get(code, 0.0)), row["PerBlock"], row["Percentage"],
                                           row["Pointsize"], float(last_front.iloc[-1]))
            bars_list.append(derived.assign(symbol=symbol, cost=front_cost))
            instruments.append({
                "symbol": symbol, "name": f"{row['Description']}: front contract (derived from multiple prices)",
                "asset_class": row["AssetClass"], "currency": row["Currency"], "point_size": row["Pointsize"],
                "cost": front_cost, "source_ticker": code, "return_basis": DERIVED_FRONT,
            })

    fx = pd.concat(fx_tables.values(), ignore_index=True) if fx_tables else pd.DataFrame(columns=list(FX_COLUMNS))
    return Dataset(
        name=name, source=SOURCE, parameters={"path": str(root)},
        instruments=pd.DataFrame(instruments), bars=pd.concat(bars_list, ignore_index=True),
        fx=fx,
        content_hash=hash_files(files_read, extra=DERIVATION), origin=str(root),
    )


def _read_fx_tables(root: Path, codes: list[str], config: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """FX sessions for every non-USD currency used; a missing `<CCY>USD.csv` is an error."""
    tables = {}
    for code in codes:
        ccy = config.loc[code, "Currency"]
        if ccy == "USD" or ccy in tables:
            continue
        fx_path = root / FX_DIR / f"{ccy}USD.csv"
        if not fx_path.exists():
            raise InputError(f"instrument {code} is priced in {ccy} but {fx_path} does not exist",
                             str(root / CFG_DIR / "instrumentconfig.csv"),
                             f"add {FX_DIR}/{ccy}USD.csv (DATETIME,PRICE = USD per {ccy}) or fix the Currency")
        tables[ccy] = read_fx(fx_path, ccy)
    return tables
