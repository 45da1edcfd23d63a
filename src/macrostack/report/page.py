"""One self-contained HTML page: Plotly JS embedded once in <head>, no network access needed."""

from __future__ import annotations

import html
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import plotly.io as pio
from plotly.offline import get_plotlyjs

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
               "toImageButtonOptions": {"format": "png", "scale": 2}}

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
    """A fraction as a percentage ('—' when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if abs(value) < 0.5 * 10 ** -(digits + 2):
        value = 0.0  # rounding noise prints as 0.00%, not -0.00%
    return f"{value:+.{digits}%}" if sign else f"{value:.{digits}%}"


def num(value, digits: int = 2, suffix: str = "", sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if abs(value) < 0.5 * 10 ** -digits:
        value = 0.0
    return (f"{value:+,.{digits}f}" if sign else f"{value:,.{digits}f}") + suffix


def figure_html(fig, div_id: str) -> str:
    """A Plotly figure as a <div> + script (no Plotly JS: it is in the page head once)."""
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config=PLOT_CONFIG, div_id=div_id,
                       validate=False, default_width="100%")


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


def render_page(title: str, subtitle: str, tiles_html: str, sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{s.id}">{esc(s.title)}</a>' for s in sections)
    blocks = []
    for s in sections:
        note = f'<p class="note">{s.note}</p>' if s.note else ""
        blocks.append(f'<section id="{s.id}"><h2>{esc(s.title)}</h2>{s.body}{note}</section>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
        f"<style>{CSS}</style>"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{esc(title)}</h1><div class=\"sub\">{subtitle}</div></header>"
        f"<nav>{nav}</nav><main><div class=\"tiles\">{tiles_html}</div>{''.join(blocks)}</main></body></html>\n"
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
