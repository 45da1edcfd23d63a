"""Where runs live, and how a user names one.

The output folder is `--out`, else `$MACROSTACK_RUNS`, else `<user data dir>/runs`
(`~/.local/share/macrostack/runs` on Linux, beside the market store), so `runs`, `show` and
`compare` work from any working directory.

A run is addressed (`show`, `report`, `audit`, `compare`, `macrostack.load_run`) by, in order:
a path to a run folder; its full id; `latest` (the newest run); a config name such as `core`,
or a YAML file whose config has that name, meaning that config's newest run; or a unique
prefix of an id. Several runs matching a prefix is an error that lists them.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from macrostack.errors import InputError


def default_runs_dir() -> Path:
    """`$MACROSTACK_RUNS` if set, else the per-user data directory's `runs` folder."""
    env = os.environ.get("MACROSTACK_RUNS")
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("macrostack", appauthor=False)) / "runs"


def runs_dir(out: str | Path | None) -> Path:
    return Path(out).expanduser() if out is not None else default_runs_dir()


def _config_name(ref: str) -> str:
    """The config name a YAML file defines (the reference itself when it is not a YAML file)."""
    if ref.endswith((".yaml", ".yml")) and Path(ref).is_file():
        from macrostack.config import load_config
        return load_config(ref).name
    return ref


def resolve_run(out: str | Path | None, ref: str) -> Path:
    """The run folder `ref` names under `out` (see the module docstring for the rules)."""
    from macrostack.runs.catalog import list_runs, run_folders

    out = runs_dir(out)
    ref = str(ref)
    if (Path(ref) / "manifest.json").is_file():
        return Path(ref)
    folders = run_folders(out)
    if ref in folders:
        return folders[ref]
    if not folders:
        raise InputError(f"no run {ref!r}: {out} holds no runs", "run",
                         "make one with `macrostack run`, or pass --out (or set MACROSTACK_RUNS)")
    runs = list_runs(out)  # oldest first; folders with a damaged manifest are not runs
    if runs.empty:
        raise InputError(f"no complete run in {out} (the run folders there have damaged manifests)", "run",
                         "see `macrostack runs`; re-run or remove the damaged folders")
    if ref == "latest":
        return folders[runs["run_id"].iloc[-1]]
    named = runs[runs["profile"] == _config_name(ref)]
    if len(named):
        return folders[named["run_id"].iloc[-1]]
    matches = sorted(k for k in folders if k.startswith(ref))
    if len(matches) == 1:
        return folders[matches[0]]
    if matches:
        shown = ", ".join(matches[:8]) + (f", … ({len(matches)} in all)" if len(matches) > 8 else "")
        raise InputError(f"{ref!r} matches several runs: {shown}", "run", "give more of the id")
    raise InputError(f"no run {ref!r} in {out}", "run",
                     "use a run id or prefix, `latest`, or a config name (see `macrostack runs`)")
