"""One HTML page of charts and tables that works offline.

Figures are plain dicts in Plotly's JSON schema (`{"data": [...], "layout": {...}}`), written
straight to the page by `figure_html` (no plotly.py figure objects, validation or deep copies;
plotly.py figures are still accepted). Numeric arrays travel as base64 typed arrays, exact to
the bit; dates as int32 days since 1970 that the page turns back into ISO dates. The page's
script `MS` draws them with one shared template and keeps every time chart on one time axis:
the range buttons (1y / 5y / 10y / all) and any zoom set the same window on all of them,
rescale their y-axes to what is visible and rebase the traces that say so (equity to 1,
cumulative P&L to 0 at the window's first session).

Plotly JS is either embedded once in the page (`plotly_tag(None)`: the page is one file to
share) or written once per output folder as `.assets/plotly-<version>.min.js` and loaded by
a relative path (`plotly_tag(assets, page)`); a page whose bundle is missing says so and how
to make a self-contained copy.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
               "toImageButtonOptions": {"format": "png", "scale": 2}}

# plotly_white's layout, once per page (its per-trace defaults are not needed: every trace
# of the report sets its own colours).
TEMPLATE = {"layout": {
    "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF",
                 "#FECB52"],
    "font": {"color": "#2a3f5f"}, "hoverlabel": {"align": "left"}, "paper_bgcolor": "white", "plot_bgcolor": "white",
    "xaxis": {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "ticks": "", "title": {"standoff": 15},
              "zerolinecolor": "#EBF0F8", "automargin": True, "zerolinewidth": 2},
    "yaxis": {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "ticks": "", "title": {"standoff": 15},
              "zerolinecolor": "#EBF0F8", "automargin": True, "zerolinewidth": 2},
    "title": {"x": 0.05}, "shapedefaults": {"line": {"color": "#2a3f5f"}},
    "annotationdefaults": {"arrowcolor": "#2a3f5f", "arrowhead": 0, "arrowwidth": 1}}}

CSS = """
:root { --ink:#1d2433; --muted:#5b6478; --line:#e3e7ee; --bg:#f5f7fa; --pass:#1e7d46; --fail:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; font-size:14px; }
header { background:#1f3b73; color:#fff; padding:18px 28px 14px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header .sub { color:#cfd8ea; font-size:13px; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:8px 28px; position:sticky; top:0; z-index:10;
      font-size:13px; display:flex; flex-wrap:wrap; gap:4px 16px; }
nav a { color:#1f3b73; text-decoration:none; white-space:nowrap; }
nav a:hover { text-decoration:underline; }
nav .range { margin-left:auto; display:flex; gap:4px; align-items:center; color:var(--muted); }
nav .range button { font:inherit; font-size:12px; border:1px solid #c9d2e3; background:#f0f3f8; color:#1f3b73;
                    border-radius:4px; padding:1px 9px; cursor:pointer; }
nav .range button.on { background:#1f3b73; color:#fff; border-color:#1f3b73; }
.missing { background:#fdecea; color:#b3261e; border:1px solid #f5c2c0; padding:10px 14px; margin:12px 28px;
           border-radius:6px; display:none; }
main { max-width:1320px; margin:0 auto; padding:16px 24px 40px; }
.tiles { display:grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap:10px; margin:14px 0 6px; }
.tile { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
.tile .k { color:var(--muted); font-size:11px; text-transform:uppercase; letter-spacing:.04em; }
.tile .v { font-size:20px; font-weight:600; margin-top:2px; font-variant-numeric: tabular-nums; }
.tile .d { color:var(--muted); font-size:11px; margin-top:2px; }
.neg { color:var(--fail); } .pos { color:var(--pass); }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin:16px 0; }
section h2 { font-size:17px; margin:0 0 6px; }
section h3 { font-size:14px; margin:10px 0 6px; color:var(--muted); }
p.note { color:var(--muted); font-size:12.5px; margin:6px 2px 0; line-height:1.45; }
table.grid { border-collapse:collapse; min-width:55%; font-size:13px; font-variant-numeric: tabular-nums; }
table.grid.wide { width:100%; }
table.grid th, table.grid td { border-bottom:1px solid var(--line); padding:5px 8px; text-align:left; vertical-align:top; }
table.grid th { background:#f0f3f8; font-weight:600; }
table.grid td.num, table.grid th.num { text-align:right; white-space:nowrap; }
.badge { display:inline-block; padding:2px 9px; border-radius:10px; font-weight:700; font-size:12px; color:#fff; }
.badge.PASS { background:var(--pass); } .badge.FAIL { background:var(--fail); } .badge.NA { background:#888; }
pre { background:#f6f8fb; border:1px solid var(--line); border-radius:6px; padding:10px 12px; font-size:12px;
      overflow:auto; max-height:520px; }
.cols { display:grid; grid-template-columns: 1fr 1fr; gap:16px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
dl.kv { display:grid; grid-template-columns: max-content 1fr; gap:4px 14px; margin:0; font-size:13px; }
dl.kv dt { color:var(--muted); } dl.kv dd { margin:0; overflow-wrap:anywhere; }
code { font-size:12px; }
"""


@dataclass
class Section:
    """One block of the page: an anchor id, a title, its body (HTML) and an explanatory note."""

    id: str
    title: str
    body: str
    note: str = ""


def esc(value) -> str:
    return html.escape(str(value))


def pct(value, digits: int = 1, sign: bool = False) -> str:
    """A fraction as a percentage ('—' when missing). The sign is the shown digits' sign: a value
    that rounds to 0 prints as 0.00% (never -0.00%, nor +0.00% with `sign`)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if abs(value) < 0.5 * 10 ** -(digits + 2) or float(f"{value:.{digits}%}".rstrip("%")) == 0:
        value = 0.0
    return f"{value:+.{digits}%}" if sign and value != 0 else f"{value:.{digits}%}"


def num(value, digits: int = 2, suffix: str = "", sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if abs(value) < 0.5 * 10 ** -digits or float(f"{value:.{digits}f}") == 0:
        value = 0.0  # as `pct`: no sign on a value that prints as 0
    return (f"{value:+,.{digits}f}" if sign and value != 0 else f"{value:,.{digits}f}") + suffix


def _encode(value):
    """JSON for what `json` does not know: numpy arrays as base64 typed arrays (float64, exact;
    datetime64 as int32 days since 1970, dtype "days"; strings as lists), numpy scalars as numbers."""
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind == "M":
            days = value.astype("datetime64[D]").astype(np.int64).astype("<i4")
            return {"dtype": "days", "bdata": base64.b64encode(days.tobytes()).decode("ascii")}
        if kind in "fiub":
            data = np.ascontiguousarray(value, dtype="<f8")
            out = {"dtype": "f8", "bdata": base64.b64encode(data.tobytes()).decode("ascii")}
            if data.ndim > 1:
                out["shape"] = ",".join(map(str, data.shape))
            return out
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} into a figure")


def figure_json(fig: dict) -> str:
    """A figure dict as JavaScript object text (safe inside a <script>). A trace whose x is the
    very array of an earlier trace's x is sent as `{"ref": k}` (trace k's x), once per figure."""
    seen: dict[int, int] = {}
    data = []
    for k, trace in enumerate(fig.get("data", [])):
        x = trace.get("x")
        if isinstance(x, np.ndarray):
            if id(x) in seen:
                trace = {**trace, "x": {"ref": seen[id(x)]}}
            else:
                seen[id(x)] = k
        data.append(trace)
    return json.dumps({**fig, "data": data}, default=_encode, separators=(",", ":")).replace("</", "<\\/")


def _plotly_py_figure(fig) -> dict:
    """A plotly.py figure as a dict for the page: its JSON, without the per-figure template
    (the page applies its one template)."""
    out = fig.to_plotly_json()
    out["layout"].pop("template", None)
    return out


def figure_html(fig, div_id: str) -> str:
    """A figure (a dict in Plotly's schema, or a plotly.py figure) as a <div> and the script that
    draws it with the page's `MS.plot`. A top-level `"time": True` puts it on the page's shared
    time axis."""
    if not isinstance(fig, dict):
        fig = _plotly_py_figure(fig)
    height = fig.get("layout", {}).get("height") or 450
    return (f'<div id="{div_id}" class="plotly-graph-div" style="height:{int(height)}px; width:100%;"></div>'
            f'<script type="text/javascript">MS.plot("{div_id}", {figure_json(fig)});</script>')


def plotly_bundle() -> tuple[str, Path]:
    """(plotly.js version, path of the minified bundle shipped with plotly.py). Found without
    importing plotly.py (~0.1 s): a run's report never needs its Python side."""
    path = Path(importlib.util.find_spec("plotly").origin).parent / "package_data" / "plotly.min.js"
    with open(path, encoding="utf-8") as fh:
        head = fh.read(200)
    marker = head.find("plotly.js v")
    version = head[marker + len("plotly.js v"):].split()[0] if marker >= 0 else "unknown"
    return version, path


def ensure_plotly_asset(assets: Path) -> Path:
    """`assets/plotly-<version>.min.js`, written once (atomically: a reader never sees half of it);
    an existing file of the right size is kept."""
    version, source = plotly_bundle()
    target = Path(assets) / f"plotly-{version}.min.js"
    size = source.stat().st_size
    if target.exists() and target.stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh, open(source, "rb") as src:
            fh.write(src.read())
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return target


def link_asset(asset: Path, folder: Path) -> Path:
    """`folder/<asset name>` as a hard link to `asset` (a copy where the filesystem cannot link),
    put in place atomically; kept when it is already that file."""
    target = Path(folder) / asset.name
    if target.exists() and target.stat().st_ino == asset.stat().st_ino:
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(asset, tmp)
        except OSError:  # no hard links here (another filesystem, FAT, some network shares): copy
            shutil.copyfile(asset, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def plotly_tag(assets: Path | None = None, page: Path | None = None, local: Path | None = None) -> str:
    """The <script> that loads Plotly: embedded (assets None; the page is one file to share), or
    `assets/plotly-<version>.min.js` written once and loaded by its path relative to `page`.

    local: a folder that must stay self-contained (a run or sweep folder): the bundle is
    hard-linked into it (one copy on disk for every folder of the output folder, like the
    market panels) and loaded from there, so the folder can be copied anywhere."""
    if assets is None:
        _, source = plotly_bundle()
        return f'<script type="text/javascript">{source.read_text(encoding="utf-8")}</script>'
    asset = ensure_plotly_asset(Path(assets))
    if local is not None:
        asset = link_asset(asset, Path(local))
    rel = os.path.relpath(asset.resolve(), Path(page).resolve().parent).replace(os.sep, "/")
    return f'<script type="text/javascript" src="{esc(rel)}"></script>'


def tile(key: str, value: str, detail: str = "", css: str = "") -> str:
    cls = f"v {css}".strip()
    d = f'<div class="d">{esc(detail)}</div>' if detail else ""
    return f'<div class="tile"><div class="k">{esc(key)}</div><div class="{cls}">{esc(value)}</div>{d}</div>'


def table(headers: list[str], rows: list[list], numeric: set[int] | None = None, raw: set[int] | None = None,
          wide: bool = False) -> str:
    """An HTML table; cells in `raw` columns are inserted as HTML, the rest escaped; `wide` spans the page."""
    numeric, raw = numeric or set(), raw or set()
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            content = str(v) if i in raw else esc(v)
            cells.append(f'<td class="num">{content}</td>' if i in numeric else f"<td>{content}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = "grid wide" if wide else "grid"
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def badge(verdict: str | None) -> str:
    v = verdict if verdict in ("PASS", "FAIL") else "NA"
    return f'<span class="badge {v}">{esc(verdict or "n/a")}</span>'


# The page's script: draws the figures (decoding the typed arrays), keeps the time charts on one
# time axis and implements the range buttons. Plain ES2017, no dependency but Plotly.
MS_JS = r"""
window.MS = (() => {
  const TEMPLATE = __TEMPLATE__, CONFIG = __CONFIG__;
  const time = [], orig = {};
  let span = null, busy = false;
  const decode = (v) => {
    if (!v || typeof v !== 'object' || typeof v.bdata !== 'string') return v;
    const s = atob(v.bdata), b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    if (v.dtype === 'days') {
      const d = new Int32Array(b.buffer), out = new Array(d.length);
      for (let i = 0; i < d.length; i++) out[i] = new Date(d[i] * 864e5).toISOString().slice(0, 10);
      return out;
    }
    const a = new Float64Array(b.buffer);
    if (!v.shape) return a;
    const [r, c] = String(v.shape).split(',').map(Number), rows = [];
    for (let i = 0; i < r; i++) rows.push(Array.from(a.subarray(i * c, (i + 1) * c)));
    return rows;
  };
  // first index with xs[i] >= x (xs sorted ISO dates; a longer string with the same prefix is later)
  const lower = (xs, x) => { let lo = 0, hi = xs.length; while (lo < hi) { const m = (lo + hi) >> 1; if (xs[m] < x) lo = m + 1; else hi = m; } return lo; };
  const upper = (xs, x) => { let lo = 0, hi = xs.length; while (lo < hi) { const m = (lo + hi) >> 1; if (xs[m] <= x) lo = m + 1; else hi = m; } return lo; };
  const missing = () => { const el = document.getElementById('ms-missing'); if (el) el.style.display = 'block'; };
  function plot(id, fig) {
    if (typeof Plotly === 'undefined') { missing(); return; }
    const gd = document.getElementById(id);
    for (const t of fig.data) {
      for (const k of ['x', 'y', 'z', 'text', 'customdata']) if (t[k] != null) t[k] = decode(t[k]);
      if (t.x && t.x.ref !== undefined) t.x = fig.data[t.x.ref].x;
    }
    const layout = fig.layout || {};
    if (!layout.template) layout.template = TEMPLATE;
    Plotly.newPlot(gd, fig.data, layout, CONFIG);
    if (fig.time) {
      time.push(gd);
      orig[id] = fig.data.map((t) => (t.meta && t.meta.rebase ? Float64Array.from(t.y) : null));
      gd.on('plotly_relayout', (ev) => relayout(ev));
    }
  }
  function relayout(ev) {
    if (busy || !ev) return;
    for (const k of Object.keys(ev)) {
      const m = k.match(/^(xaxis\d*)\.(range\[0\]|range|autorange)$/);
      if (!m) continue;
      if (m[2] === 'autorange') return setRange(span[0], span[1]);
      const r = m[2] === 'range' ? ev[k] : [ev[m[1] + '.range[0]'], ev[m[1] + '.range[1]']];
      return setRange(r[0], r[1]);
    }
  }
  // equity 1 (a cumulative sum 0) at the start of the window: at the close of the session before
  // its first one (the previous drawn point; the starting NAV when the window starts at the first)
  function rebase(gd, x0) {
    gd.data.forEach((t, i) => {
      const o = orig[gd.id][i];
      if (!o) return;
      const ratio = t.meta.rebase === 'ratio';
      let j = Math.min(lower(t.x, x0), o.length) - 1;
      while (j >= 0 && !Number.isFinite(o[j])) j--;
      const b = j >= 0 ? o[j] : (ratio ? 1 : 0), y = new Float64Array(o.length);
      for (let k = 0; k < o.length; k++) y[k] = ratio ? o[k] / b : o[k] - b;
      t.y = y;
    });
  }
  function yRanges(gd, x0, x1) {
    const ext = {};
    for (const t of gd.data) {
      if (t.visible === false || (t.meta && t.meta.shade) || !t.x || !t.y) continue;
      const ax = 'yaxis' + (t.yaxis ? t.yaxis.slice(1) : ''), log = (gd.layout[ax] || {}).type === 'log';
      const i1 = upper(t.x, x1);
      let lo = Infinity, hi = -Infinity;
      for (let k = lower(t.x, x0); k < i1; k++) {
        const v = t.y[k];
        if (Number.isFinite(v) && (!log || v > 0)) { if (v < lo) lo = v; if (v > hi) hi = v; }
      }
      if (lo > hi) continue;
      const e = ext[ax] || (ext[ax] = [Infinity, -Infinity]);
      e[0] = Math.min(e[0], lo); e[1] = Math.max(e[1], hi);
    }
    for (const [ax, [lo0, hi0]] of Object.entries(ext)) {
      const a = gd.layout[ax] || (gd.layout[ax] = {});
      if (a.fixedrange) continue;
      let lo = lo0, hi = hi0;
      if (a.rangemode === 'tozero') { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
      if (a.type === 'log') { lo = Math.log10(lo); hi = Math.log10(hi); }
      const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 0.05;
      a.range = [a.rangemode === 'tozero' && lo === 0 ? 0 : lo - pad, hi + pad];
      a.autorange = false;
    }
  }
  function setRange(x0, x1) {
    if (!time.length) return;
    x0 = String(x0); x1 = String(x1);
    busy = true;
    const jobs = time.map((gd) => {
      rebase(gd, x0);
      for (const k of Object.keys(gd.layout)) if (/^xaxis\d*$/.test(k)) { gd.layout[k].range = [x0, x1]; gd.layout[k].autorange = false; }
      yRanges(gd, x0, x1);
      gd.layout.datarevision = (gd.layout.datarevision || 0) + 1;
      return Plotly.react(gd, gd.data, gd.layout);
    });
    return Promise.all(jobs).finally(() => { busy = false; });
  }
  function window_(years, button) {
    document.querySelectorAll('nav .range button').forEach((b) => b.classList.toggle('on', b === button));
    if (!years) return setRange(span[0], span[1]);
    const d = new Date(span[1] + 'T00:00:00Z');
    d.setUTCFullYear(d.getUTCFullYear() - years);
    const x0 = d.toISOString().slice(0, 10);
    return setRange(x0 > span[0] ? x0 : span[0], span[1]);
  }
  return { plot, setRange, window: window_, setSpan: (a, b) => { span = [a, b]; }, span: () => span, charts: () => time.map((g) => g.id) };
})();
"""


def _ms_script() -> str:
    return MS_JS.replace("__TEMPLATE__", json.dumps(TEMPLATE, separators=(",", ":"))).replace(
        "__CONFIG__", json.dumps(PLOT_CONFIG, separators=(",", ":")))


def render_page(title: str, subtitle: str, tiles_html: str, sections: list[Section], plotly: str | None = None,
                span: tuple[str, str] | None = None, missing_hint: str = "") -> str:
    """The page. plotly: the tag from `plotly_tag` (default: embedded). span: (first, last) ISO dates of
    the page's time charts: the shared time axis, with 1y / 5y / 10y / all buttons in the nav bar.
    missing_hint: what to tell a reader whose linked Plotly bundle did not load (HTML)."""
    nav = "".join(f'<a href="#{s.id}">{esc(s.title)}</a>' for s in sections)
    buttons = ""
    if span is not None:
        buttons = ('<span class="range">window' + "".join(
            f'<button type="button" onclick="MS.window({y or 0}, this)"{" class=on" if not y else ""}>{y and f"{y}y" or "all"}</button>'
            for y in (1, 5, 10, None)) + "</span>")
    blocks = []
    for s in sections:
        note = f'<p class="note">{s.note}</p>' if s.note else ""
        blocks.append(f'<section id="{s.id}"><h2>{esc(s.title)}</h2>{s.body}{note}</section>')
    set_span = f"<script>MS.setSpan({json.dumps(span[0])}, {json.dumps(span[1])});</script>" if span else ""
    hint = missing_hint or "The Plotly bundle this page loads was not found, so the charts cannot be drawn."
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
        f"<style>{CSS}</style>"
        f"{plotly if plotly is not None else plotly_tag()}<script type=\"text/javascript\">{_ms_script()}</script>{set_span}"
        f"</head><body>"
        f"<header><h1>{esc(title)}</h1><div class=\"sub\">{subtitle}</div></header>"
        f"<div class=\"missing\" id=\"ms-missing\">{hint}</div>"
        f"<nav>{nav}{buttons}</nav><main><div class=\"tiles\">{tiles_html}</div>{''.join(blocks)}</main></body></html>\n"
    )


def write_page(path: Path, text: str) -> Path:
    """Write atomically (a reader never sees half a report): a uniquely named temporary file
    beside `path`, renamed into place, removed if anything fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; a report is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return path
