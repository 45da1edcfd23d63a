"""Whether the compiled (numba) kernels still have to be compiled on this machine.

The kernels are compiled on first use and cached beside their modules (`__pycache__/*.nbi`
index files), so only the first run on a machine pays ~10 s. The CLI says so up front instead
of leaving the user to wonder why the first run is slow.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
MARK = "cache" + "=True"  # spelled apart so that this module does not match itself


def kernels_cold(package: Path = PACKAGE) -> bool:
    """True when some module with cached kernels has no numba cache index beside it yet."""
    for source in Path(package).rglob("*.py"):
        if MARK not in source.read_text(encoding="utf-8"):
            continue
        if not any((source.parent / "__pycache__").glob(f"{source.stem}.*.nbi")):
            return True
    return False
