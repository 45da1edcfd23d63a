"""A run directory's life: staged under a hidden name, published whole, never replaced silently.

- `stage(out, run_id)` makes `out/.<id>.tmp-<pid>`; the run writes everything there.
- `publish(tmp, final, force)` renames it into place under the output folder's lock. An
  existing run is left untouched unless `force`; then the two folders are swapped in one
  `renameat2(RENAME_EXCHANGE)` (Linux), so a reader sees the old run or the new one, never
  neither. Where the kernel or filesystem cannot exchange, the old run is first renamed to
  `out/.<id>.old-<pid>` and `clean_stale` restores it if the process dies in between.
- `clean_stale(out)` removes the staging folders of processes that are gone (killed,
  SIGKILLed, power loss) and restores interrupted replaces. Every run calls it.
- `out_lock(out)` is an exclusive `flock` on `out/.lock`: publishing and the catalog's
  writes hold it, so any number of processes can finish at once against one `--out`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import shutil
from pathlib import Path

from macrostack.errors import InputError
from macrostack.locks import file_lock
from macrostack.runs.ids import inside

LOCK_NAME = ".lock"
LOCK_TIMEOUT_S = 120.0  # publishing + a catalog write take well under a second each
_HIDDEN = re.compile(r"\.(?P<id>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)")


def stage(out: Path, run_id: str) -> Path:
    """A fresh staging folder beside the final one (same filesystem, so the rename is atomic)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = inside(out, f".{run_id}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "layers").mkdir(parents=True)
    return tmp


def out_lock(out: Path, timeout: float = LOCK_TIMEOUT_S):
    """Hold the output folder's exclusive lock (waits up to `timeout` seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    return file_lock(out / LOCK_NAME, exclusive=True, timeout=timeout, what="output folder")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale(out: Path) -> list[str]:
    """Remove staging folders of dead processes; put back a run whose replace was interrupted.
    Returns what it did (one line each). Call it holding `out_lock`."""
    from macrostack.runs.panels import MARKET_DIR

    done = []
    folders = [out, out / MARKET_DIR]  # run staging, and shared market panels being written
    for path in (p for folder in folders if folder.is_dir() for p in folder.iterdir()):
        m = _HIDDEN.fullmatch(path.name)
        if not m or not path.is_dir() or int(m["pid"]) == os.getpid() or _pid_alive(int(m["pid"])):
            continue
        final = path.parent / m["id"]
        if m["kind"] == "old" and not final.exists():
            path.rename(final)
            done.append(f"restored {final.name} (its replace was interrupted)")
        else:
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path.name} (left by process {m['pid']}, which is gone)")
    return done


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE). False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def check_replace(final: Path, force: bool) -> None:
    """Refuse an existing `final` unless it is a run folder and `force` is set."""
    if not final.exists():
        return
    if not (final / "manifest.json").is_file():
        raise InputError("exists and is not a run folder", str(final), "move it away, or choose another --run-id")
    if not force:
        raise InputError(f"run {final.name!r} already exists (a default id means the same config on the same data)",
                         str(final), "it is left as it was; pass --force to replace it, or --run-id for a new id")


def publish(tmp: Path, final: Path, force: bool = False) -> None:
    """Move a complete staging folder to `final`. Call it holding `out_lock`.

    An existing `final` is refused unless `force` (`check_replace`); with `force` it is replaced
    atomically."""
    check_replace(final, force)
    if not final.exists():
        tmp.rename(final)
        return
    if _exchange(tmp, final):  # tmp now holds the old run
        shutil.rmtree(tmp)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old)
