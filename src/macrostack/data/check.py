"""Data quality report: per instrument coverage, gaps and the largest daily move.

Flags (any of them marks an instrument suspicious):
- `move>25%`: the largest absolute daily USD return exceeds 25% (real crashes do this too:
  read the date before trusting or dropping it);
- `gaps`: more than 5% of the dataset's sessions between the instrument's first and last
  session have no bar;
- `no-return`: sessions with a price but no return (missing FX or contract price) beyond
  the first one;
- `approx-return`: returns divided by the adjusted level, not a contract price (runs exclude
  these instruments unless the config sets `data.allow_level_returns: true`);
- `smoothed`: a decade of history with lag-1 autocorrelation and variance ratio far above a
  traded price's (back-filled / reconstructed history); `stale`: a run of STALE_RUN or more
  zero returns; `pre-listing`: bars before the instrument's listing date. Thresholds and
  measurements: `macrostack.data.quality`.

Values that cannot be a real daily move in the stored units (percent returns, a 1,000 %
day, a contract price ×10 in a session) never get here: ingest refuses them
(`macrostack.data.dataset`). These flags are for moves a real market can make.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from macrostack.data import quality
from macrostack.data.quality import QualityEvidence, assess
from macrostack.data.store import MarketStore

LARGE_MOVE = 0.25
GAP_SHARE = 0.05

_SQL = """
WITH cal AS (SELECT DISTINCT date FROM bars WHERE dataset = $ds),
s AS (
    SELECT symbol, min(date) AS first, max(date) AS last, count(*) AS rows,
           count(*) - count(ret) AS no_return, max(abs(ret)) AS max_abs_return,
           arg_max(date, abs(ret)) AS max_move_date, arg_max(ret, abs(ret)) AS max_move
    FROM bars WHERE dataset = $ds GROUP BY symbol)
SELECT s.*, (SELECT count(*) FROM cal WHERE cal.date BETWEEN s.first AND s.last) - s.rows AS missing,
       i.return_basis
FROM s JOIN instruments i ON i.dataset = $ds AND i.symbol = s.symbol
ORDER BY s.symbol
"""


def quality_evidence(store: MarketStore, dataset: str, symbols: list[str] | None = None) -> QualityEvidence:
    """`quality.assess` of a dataset's stored bars (all its history), optionally some symbols only."""
    ins = store.instruments(dataset)
    if symbols is not None:
        ins = ins[ins["symbol"].isin(symbols)]
    return assess(store.bars(dataset, symbols, ["ret"]), ins)


@dataclass(frozen=True)
class StoredEvidence:
    """What a run reads of `QualityEvidence` (its manifest and flagged bars), as cached."""

    manifest_data: dict
    flagged: pd.DataFrame

    def manifest(self) -> dict:
        return self.manifest_data


def run_quality_evidence(store: MarketStore, dataset: str, symbols: list[str]):
    """`quality_evidence(store, dataset, symbols)` as a run reads it (`.manifest()`, `.flagged`),
    computed once per dataset content and symbol set and cached beside the store
    (`macrostack.data.cache`); identical to computing it (same code, a JSON round trip of
    plain Python values)."""
    from macrostack.data import cache

    content_hash = str(store.require_dataset(dataset)["content_hash"])
    wanted = sorted(set(symbols))
    name = "quality-" + cache.entry_key(dataset, content_hash, "\x1e".join(wanted),
                                        cache.code_fingerprint(quality, sys.modules[__name__]))
    hit = cache.read_entry(store.path, content_hash, name)
    if hit is not None:
        names = np.asarray(cache.array_json(hit["symbols"]), dtype=object)
        flagged = pd.DataFrame({"symbol": names[hit["flag_symbol"]],
                                "date": hit["flag_date"].astype("datetime64[D]")})
        return StoredEvidence(cache.array_json(hit["manifest"]), flagged)
    evidence = quality_evidence(store, dataset, symbols)
    manifest = evidence.manifest()
    codes, names = pd.factorize(evidence.flagged["symbol"], sort=True)
    live = set(store.con.execute("SELECT content_hash FROM datasets").fetchnumpy()["content_hash"].tolist())
    cache.write_entry(store.path, content_hash, name, {
        "manifest": cache.json_array(manifest), "symbols": cache.json_array([str(s) for s in names]),
        "flag_symbol": codes.astype(np.int32),
        "flag_date": evidence.flagged["date"].to_numpy().astype("datetime64[D]").astype(np.int64)}, live)
    return StoredEvidence(manifest, evidence.flagged)


QUALITY_COLUMNS = ("listing_date", "pre_listing", "longest_zero_run", "zero_share", "stale_sessions", "smoothed_decades")


def check_dataset(store: MarketStore, dataset: str, evidence: QualityEvidence | None = None) -> pd.DataFrame:
    """One row per instrument with coverage statistics, the quality evidence and a `flags` column."""
    store.require_dataset(dataset)
    evidence = evidence or quality_evidence(store, dataset)
    report = store.con.execute(_SQL, {"ds": dataset}).df()
    report = report.merge(evidence.instruments[["symbol", *QUALITY_COLUMNS, "flags"]].rename(
        columns={"flags": "quality_flags"}), on="symbol", how="left")
    span = report["rows"] + report["missing"]
    flags = []
    for r, sp in zip(report.itertuples(), span):
        f = []
        if pd.notna(r.max_abs_return) and r.max_abs_return > LARGE_MOVE:
            f.append("move>25%")
        if sp and r.missing / sp > GAP_SHARE:
            f.append("gaps")
        if r.no_return > 1:
            f.append("no-return")
        if r.return_basis == "adjusted_level":
            f.append("approx-return")
        f.extend(q for q in str(r.quality_flags or "").split(",") if q and q != "level-return")
        flags.append(",".join(f))
    report["flags"] = flags
    return report.drop(columns="quality_flags")
