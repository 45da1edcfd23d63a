"""VRP engines (vrp_core, vrp_alt, vrp_convergence) and curve_rv: hand checks from the raw CSVs
on named dates, no look-ahead, the calendar spread's zero net contracts, INERT reporting, the
profiles end to end with audit PASS and the attribution identity.

The expected values are computed here from the pysystemtrade CSV files with pandas and the
session rules of the loader's docstring (a session's close is the last row stamped <= 22:00,
else its last row; multiple prices: the last row with a PRICE; weekend rows → Monday), so they
share no code with the loader or the engines.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from macrostack.cli import app
from macrostack.config import CurveRvParams, VrpAltParams, VrpConvergenceParams, VrpCoreParams, load_config, \
    parse_config
from macrostack.data.market import load_market_data
from macrostack.data.store import MarketStore
from macrostack.engines import ENGINES, curve_rv, vrp
from macrostack.errors import InputError
from macrostack.runner import run_stack
from tests.conftest import PYSYSTEMTRADE

needs_pst = pytest.mark.skipif(not (PYSYSTEMTRADE / "multiple_prices_csv").is_dir(),
                               reason="shared pysystemtrade data not found")
VRP_DATES = ("2008-10-10", "2017-07-14", "2020-03-16")
FIELDS = ("ret", "cost", "price", "carry", "price_contract", "carry_contract")


def _md(path, symbols, fields=FIELDS, dataset="pysystemtrade", **kw):
    with MarketStore(path, read_only=True) as store:
        return load_market_data(store, dataset, symbols, fields=fields, **kw)


# --------------------------------------------------------------------------- CSV reference


def _sessions(ts: pd.Series) -> pd.Series:
    day = ts.dt.normalize()
    dow = day.dt.day_of_week
    return day + pd.to_timedelta(np.where(dow >= 5, 7 - dow, 0), unit="D")


def csv_adjusted(code: str) -> pd.Series:
    df = pd.read_csv(PYSYSTEMTRADE / "adjusted_prices_csv" / f"{code}.csv").dropna(subset=["price"])
    ts = pd.to_datetime(df["DATETIME"])
    df = df.assign(date=_sessions(ts).to_numpy(), obs=((ts - ts.dt.normalize()) <= pd.Timedelta(hours=22)).to_numpy())
    has_obs = df.groupby("date")["obs"].transform("any")
    df = df[df["obs"] | ~has_obs]
    return df.groupby("date")["price"].last()


def csv_multiple(code: str) -> pd.DataFrame:
    df = pd.read_csv(PYSYSTEMTRADE / "multiple_prices_csv" / f"{code}.csv",
                     dtype={"PRICE_CONTRACT": str, "CARRY_CONTRACT": str}).dropna(subset=["PRICE"])
    df["date"] = _sessions(pd.to_datetime(df["DATETIME"])).to_numpy()
    return df.groupby("date").last()


def csv_returns(code: str) -> pd.Series:
    """r[d] = (adj[d] − adj[d−1]) / PRICE as of the previous session, on the code's own sessions."""
    adj = csv_adjusted(code)
    mult = csv_multiple(code)["PRICE"]
    prev_dates = adj.index[:-1]
    denom = mult.reindex(mult.index.union(prev_dates)).ffill().reindex(prev_dates).to_numpy()
    return pd.Series(np.diff(adj.to_numpy()) / denom, index=adj.index[1:])


def csv_vrp_reference(rv_window: int) -> pd.DataFrame:
    """implied (VIX front = CARRY, the nearer contract), RV, spread, z on VIX's own sessions."""
    r_sp = csv_returns("SP500")
    rv = 100 * np.sqrt(252 * (r_sp ** 2).rolling(rv_window, min_periods=rv_window).mean())   # zero-mean RV
    mult = csv_multiple("VIX")
    vix_sessions = csv_adjusted("VIX").index.intersection(mult.index)
    mult = mult.loc[vix_sessions]
    nearer = mult["CARRY_CONTRACT"].astype(float) < mult["PRICE_CONTRACT"].astype(float)
    implied = mult["CARRY"].where(nearer)
    rv_at = rv.reindex(rv.index.union(vix_sessions)).ffill().reindex(vix_sessions)
    spread = (implied - rv_at).dropna()
    roll = spread.rolling(252, min_periods=126)
    z = ((spread - roll.mean()) / roll.std()).clip(-3, 3)
    return pd.DataFrame({"implied": implied, "rv": rv_at, "spread": spread, "z": z})


# --------------------------------------------------------------------------- VRP hand checks


@needs_pst
@pytest.mark.parametrize("engine,params", [("vrp_core", VrpCoreParams()), ("vrp_alt", VrpAltParams())])
def test_vrp_z_and_sign_on_named_dates_match_the_csvs(pst_store, engine, params):
    md = _md(pst_store, ["SP500", "VIX"])
    ref = csv_vrp_reference(params.rv_window)
    signal = ENGINES[engine].compute(md, params)
    front = vrp.front_price(*(md.panels[f][:, 1] for f in ("price", "carry", "price_contract", "carry_contract")))
    z = vrp.spread_z(vrp.vrp_spread(front, md.returns[:, 0], params.rv_window), 252, 126, 3.0)
    rows = {str(d): i for i, d in enumerate(md.dates)}
    for day in VRP_DATES:
        i, want = rows[day], ref.loc[pd.Timestamp(day)]
        assert front[i] == pytest.approx(want["implied"], abs=1e-12)
        assert z[i] == pytest.approx(want["z"], abs=1e-9), day
        expected = np.clip(-want["z"] / 3, -1, 0 if engine == "vrp_alt" else 1)
        assert signal[i, 1] == pytest.approx(expected, abs=1e-9)
        assert np.isnan(signal[i, 0])                       # nothing on the equity future
    # Named values (vol points; zero-mean RV): 2008-10-10 front 38.31 vs RV21 58.85 (RV5 72.86),
    # 2017-07-14 front 12.39 vs RV21 5.95 (RV5 7.40), 2020-03-16 front 52.50 vs RV21 71.02 (RV5
    # 120.0). z21 = −3 (clip), −0.574, −3; z5 = −3, −0.993, −3. Realised above implied (2008,
    # 2020) → vrp_core long vol at full size; 2017's premium of 6.4 points was below its trailing
    # year's → small long. vrp_alt is short-only: flat on all three.
    expected = {"vrp_core": (1.0, 0.5736 / 3, 1.0), "vrp_alt": (0.0, 0.0, 0.0)}[engine]
    for day, want in zip(VRP_DATES, expected):
        assert signal[rows[day], 1] == pytest.approx(want, abs=2e-4), day
    assert front[rows["2008-10-10"]] == 38.31


@needs_pst
def test_vrp_convergence_z_sign_and_zero_net_contracts(pst_store):
    md = _md(pst_store, ["SP500", "VIX", "VIX_FRONT"], include_derived=True)
    mult = csv_multiple("VIX")
    mult = mult.loc[csv_adjusted("VIX").index.intersection(mult.index)]
    nearer = mult["CARRY_CONTRACT"].astype(float) < mult["PRICE_CONTRACT"].astype(float)
    slope = (mult["CARRY"].where(nearer) - mult["PRICE"]).dropna()
    roll = slope.rolling(252, min_periods=126)
    z_ref = ((slope - roll.mean()) / roll.std()).clip(-3, 3)
    p = VrpConvergenceParams()
    (spread,) = vrp.convergence_spreads(md, p)
    w = ENGINES["vrp_convergence"].compute(md, p)
    rows = {str(d): i for i, d in enumerate(md.dates)}
    # Slope front − second (vol points): 2008-10-10 +4.52, 2017-07-14 −0.56, 2020-03-16 +12.60;
    # z = +3, +0.94, +3: backwardation or a flatter contango than usual → no position on any.
    shorts = z_ref.index[(z_ref < -1) & (z_ref.index.year == 2017)]
    for day in (*VRP_DATES, str(shorts[-1].date())):
        i = rows[day]
        assert spread.signal[i] == pytest.approx(min(z_ref[pd.Timestamp(day)], 0) / 3, abs=1e-9)
    assert spread.signal[rows["2017-07-14"]] == 0.0
    assert spread.signal[rows[str(shorts[-1].date())]] < -1 / 3   # steep contango: short front, long second
    # Net vol-future exposure in contracts is zero wherever the sleeve holds the spread:
    # contracts = w / (P · point size), same point size on both legs.
    price = md.panels["price"]
    held = np.isfinite(w[:, 1]) & (w[:, 1] != 0)
    assert held.sum() > 1000
    contracts = w[held][:, [1, 2]] / price[held][:, [1, 2]]
    np.testing.assert_allclose(contracts.sum(axis=1), 0.0, atol=1e-12)
    assert (w[held, 2] <= 0).all() and (w[held, 1] >= 0).all()     # short-only: short front, long second


@needs_pst
def test_front_contract_returns_derived_at_ingest_from_the_csv(pst_store):
    """VIX_FRONT on a roll: 2008-10-10 front Nov-08 (CARRY), a normal day; and the first session on
    which the held contract became the front, whose return uses the held PRICE of the day before."""
    md = _md(pst_store, ["VIX", "VIX_FRONT"], fields=("ret", "price", "price_contract", "cost"))
    mult = csv_multiple("VIX")
    mult = mult.loc[csv_adjusted("VIX").index.intersection(mult.index)]
    rows = {pd.Timestamp(d): i for i, d in enumerate(md.dates)}
    i = rows[pd.Timestamp("2008-10-10")]
    assert md.returns[i, 1] == pytest.approx(38.31 / 37.68 - 1, abs=1e-12)
    rolled = mult.index[1:][mult["CARRY_CONTRACT"].to_numpy()[1:] == mult["PRICE_CONTRACT"].to_numpy()[:-1]]
    day = rolled[rolled > pd.Timestamp("2010-01-01")][0]
    prev = mult.index[mult.index.get_loc(day) - 1]
    assert md.returns[rows[day], 1] == pytest.approx(mult.loc[day, "CARRY"] / mult.loc[prev, "PRICE"] - 1, abs=1e-12)
    assert md.instruments.loc[1, "return_basis"] == "derived_front"
    assert 0 < md.instruments.loc[1, "cost"] < 0.01
    # Not in the default universe unless an engine trades it.
    assert "VIX_FRONT" not in _md(pst_store, None, fields=("ret",)).symbols


# --------------------------------------------------------------------------- curve_rv hand check


@needs_pst
def test_2s10s_hedge_ratio_on_2008_10_10_matches_the_csvs(pst_store):
    md = _md(pst_store, ["US2", "US10"], fields=("ret", "cost"))
    p = CurveRvParams(spreads=["2s10s"])
    (spread,) = curve_rv.spreads(md, p)
    both = pd.concat([csv_returns("US10"), csv_returns("US2")], axis=1, keys=["y", "x"], sort=True).dropna()
    window = both.loc[:"2008-10-10"].tail(252)
    beta = window["y"].cov(window["x"]) / window["x"].var()
    i = {str(d): k for k, d in enumerate(md.dates)}["2008-10-10"]
    assert spread.legs[i, 0] == 1.0
    assert -spread.legs[i, 1] == pytest.approx(beta, rel=1e-9)
    assert 2.0 < beta < 5.0        # ≈ the 10y/2y duration ratio: short ~3.5× the 2y notional per unit of 10y
    w = ENGINES["curve_rv"].compute(md, p)
    assert w[i, 1] != 0 and w[i, 0] / w[i, 1] == pytest.approx(-beta, rel=1e-9)    # the legs carry the hedge


# --------------------------------------------------------------------------- no look-ahead


def _synthetic_vol_md(seed: int, t_len: int = 700) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    r_eq = rng.standard_t(4, t_len) * 0.01
    r_eq[rng.random(t_len) < 0.03] = np.nan
    months = 24000 + np.arange(t_len) // 21
    second = 20 * np.exp(np.cumsum(rng.normal(0, 0.04, t_len)))
    front = second * np.exp(rng.normal(-0.05, 0.05, t_len))
    front[rng.random(t_len) < 0.02] = np.nan
    r_vol = np.r_[np.nan, np.diff(second) / second[:-1]]
    r_front = np.r_[np.nan, np.diff(front) / front[:-1]]
    nan = np.full(t_len, np.nan)
    panels = {"ret": np.column_stack([r_vol, r_eq, r_front]),
              "price": np.column_stack([second, nan, front]),
              "carry": np.column_stack([front, nan, nan]),
              "price_contract": np.column_stack([months + 1.0, nan, months + 0.0]),
              "carry_contract": np.column_stack([months + 0.0, nan, nan])}
    return SimpleNamespace(dataset="synthetic", symbols=("VIX", "SP500", "VIX_FRONT"), panels=panels,
                           returns=panels["ret"], n_sessions=t_len)


def _perturbed(md, t, seed):
    rng = np.random.default_rng(seed)
    panels = {k: v.copy() for k, v in md.panels.items()}
    for k in ("ret", "price", "carry"):
        panels[k][t + 1:] *= rng.uniform(0.5, 1.5, panels[k][t + 1:].shape)
    return SimpleNamespace(**{**vars(md), "panels": panels, "returns": panels["ret"]})


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(300, 690))
def test_vrp_engines_have_no_look_ahead(seed, t):
    md = _synthetic_vol_md(seed)
    md2 = _perturbed(md, t, seed + 1)
    small = dict(z_window=100, z_min_periods=50)
    for fn in (lambda m: vrp.premium_panel(m, VrpCoreParams(**small), False),
               lambda m: vrp.premium_panel(m, VrpAltParams(**small), True),
               lambda m: vrp.convergence_panel(m, VrpConvergenceParams(**small))):
        base, again = fn(md), fn(md2)
        assert np.isfinite(base[: t + 1]).any()
        np.testing.assert_array_equal(again[: t + 1], base[: t + 1])


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(250, 590), st.sampled_from(["momentum", "mean_reversion"]))
def test_curve_rv_has_no_look_ahead(seed, t, mode):
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 0.004, 600)
    r = np.column_stack([level * d + rng.normal(0, 0.0005, 600) for d in (0.5, 1.2, 2.0, 4.0)])
    r[rng.random(r.shape) < 0.03] = np.nan
    md = SimpleNamespace(dataset="synthetic", symbols=("TU", "FV", "TY", "US"), returns=r, panels={"ret": r})
    p = CurveRvParams(mode=mode, hedge_window=100, hedge_min_periods=60, z_window=100, z_min_periods=50)
    base = curve_rv.signal_panel(md, p)
    r2 = r.copy()
    r2[t + 1:] = rng.normal(0, 0.01, r2[t + 1:].shape)
    md2 = SimpleNamespace(**{**vars(md), "returns": r2, "panels": {"ret": r2}})
    assert np.isfinite(base[: t + 1]).any()
    np.testing.assert_array_equal(curve_rv.signal_panel(md2, p)[: t + 1], base[: t + 1])
    # duration-neutral by construction: each spread's legs are (1, −β)
    for sp in curve_rv.spreads(md, p):
        ok = np.isfinite(sp.legs).all(axis=1)
        assert (sp.legs[ok, 0] == 1.0).all()


# --------------------------------------------------------------------------- INERT and config


def test_vrp_sleeves_are_inert_on_the_default_dataset_and_say_why(tf_store_path, tmp_path):
    raw = load_config("trend_only").resolved()
    for name in ("vrp_core", "vrp_convergence", "vrp_alt"):
        raw["sleeves"][name] = {"engine": name, "weight": 0.1, "required": False}
    res = run_stack(parse_config(raw), start="2019-01-01", end="2020-12-31", out=tmp_path, store=tf_store_path,
                    report=False)
    assert res.audit["verdict"] == "PASS"
    for name in ("vrp_core", "vrp_convergence", "vrp_alt"):
        assert res.manifest["stage_statuses"][f"sleeve:{name}"] == "inert"
        assert "volatility future" in res.manifest["inert_sleeves"][name] or "no price" in \
            res.manifest["inert_sleeves"][name]
    raw["sleeves"]["vrp_core"]["required"] = True
    with pytest.raises(InputError, match="INERT"):
        run_stack(parse_config(raw), start="2019-01-01", end="2020-12-31", out=tmp_path, store=tf_store_path)


@pytest.mark.parametrize("params,where", [
    ({"mode": "trend"}, "params.mode"), ({"spreads": ["2s10s", "2s10s"]}, "spreads"),
    ({"hedge_window": 50, "hedge_min_periods": 60}, "hedge_min_periods"), ({"tenors": {"7": ["X"]}}, "tenors"),
])
def test_bad_curve_rv_params_are_one_line_errors_with_the_key_path(params, where):
    with pytest.raises(InputError) as exc:
        parse_config({"sleeves": {"rv": {"engine": "curve_rv", "params": params}}})
    msg = str(exc.value)
    assert "sleeves.rv" in msg and where in msg and "\n" not in msg


@pytest.mark.parametrize("engine", ["vrp_core", "vrp_alt", "vrp_convergence"])
def test_bad_vrp_params_are_one_line_errors(engine):
    first = {"vol_futures": []} if engine == "vrp_convergence" else {"pairs": {}}
    for params in (first, {"z_window": 100, "z_min_periods": 200}, {"rv": 3}):
        with pytest.raises(InputError) as exc:
            parse_config({"sleeves": {"v": {"engine": engine, "params": params}}})
        assert "sleeves.v" in str(exc.value) and "\n" not in str(exc.value)


# --------------------------------------------------------------------------- end to end


@needs_pst
def test_core_v9_end_to_end_audit_and_attribution(pst_store, tmp_path):
    res = run_stack("core_v9", start="2012-01-01", out=tmp_path, store=pst_store, report=False)
    assert res.audit["verdict"] == "PASS", res.audit["failed"]
    statuses = res.manifest["stage_statuses"]
    new = ("vrp_core", "vrp_convergence", "vrp_alt", "curve_rv")
    assert all(statuses[f"sleeve:{k}"] == "effective" for k in (*new, "trend", "csmom", "vol_carry"))
    assert "front volatility future" in res.manifest["sleeve_notes"]["vrp_core"]
    sleeves = pd.read_parquet(res.path / "sleeves.parquet")
    daily = pd.read_parquet(res.path / "daily.parquet")
    parts = sleeves[[c for c in sleeves.columns if c != "date" and ":" not in c]]
    assert set(new) <= set(parts.columns) and "residual" in parts.columns
    np.testing.assert_allclose(parts.sum(axis=1).to_numpy(), daily["net"].to_numpy(), atol=1e-12)
    # Only vrp_convergence trades the derived front contract; its calendar legs net to zero contracts.
    w = pd.read_parquet(res.path / "weights.parquet")
    front = w[(w["symbol"] == "VIX_FRONT") & (w["weight"] != 0)]
    assert set(front["stage"]) - {"w_pre", "w_rt", "w_alloc", "w_exec", "sleeve:vrp_convergence",
                                  "signal:vrp_convergence"} == set()
    sl = w[w["stage"] == "sleeve:vrp_convergence"].pivot(index="date", columns="symbol", values="weight")
    md = _md(pst_store, ["VIX", "VIX_FRONT"], fields=("price",), start="2012-01-01")
    px = pd.DataFrame(md.panels["price"], index=pd.to_datetime(md.dates), columns=md.symbols)
    px.index = px.index.astype(sl.index.dtype)
    held = sl["VIX_FRONT"] != 0
    contracts = sl.loc[held, ["VIX", "VIX_FRONT"]] / px.loc[sl.index[held], ["VIX", "VIX_FRONT"]].to_numpy()
    np.testing.assert_allclose(contracts.sum(axis=1), 0.0, atol=1e-12)


def test_curve_rv_on_the_default_dataset_audit_pass(tf_store_path, tmp_path):
    res = run_stack("curve_rv", start="2015-01-01", out=tmp_path, store=tf_store_path, report=False)
    assert res.audit["verdict"] == "PASS", res.audit["failed"]
    w = pd.read_parquet(res.path / "weights.parquet")
    sleeve = w[w["stage"] == "sleeve:curve_rv"]
    assert set(sleeve.loc[sleeve["weight"] != 0, "symbol"]) == {"TU", "FV", "TY", "US"}


@needs_pst
def test_sanity_json_and_gate_for_new_sleeves(pst_store):
    out = CliRunner().invoke(app, ["sanity", "vrp_core", "--profile", "core_v9", "--json", "--start", "2010-01-01",
                                   "--store", str(pst_store)])
    assert out.exit_code in (0, 1), out.output
    res = json.loads(out.output)
    assert res["gate"] == ("PASS" if res["sharpe_net"] >= 0.2 else "FAIL") and res["min_sharpe"] == 0.2
    assert out.exit_code == (0 if res["gate"] == "PASS" else 1)
    out = CliRunner().invoke(app, ["sanity", "curve_rv", "--profile", "core_v9", "--min-sharpe", "-5",
                                   "--start", "2010-01-01", "--store", str(pst_store)])
    assert out.exit_code == 0 and "PASS" in out.output
