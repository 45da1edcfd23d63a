"""Advisory file locks (flock) that let many macrostack processes share one store and one --out.

DuckDB lets one process write a database file and refuses every other process while it does,
readers included. So macrostack's own processes queue on a lock file beside the database
instead of failing on DuckDB's lock: writers (an ingest, a catalog write) take it exclusive,
readers (a run loading the store) take it shared. Waits are bounded and end in one clear line.
A process that dies releases its locks with its file descriptors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path

from macrostack.errors import InputError

POLL_S = 0.05


def _open_lock_file(path: Path) -> int | None:
    """A descriptor on the lock file, created if possible; None where it cannot exist (a
    read-only folder: nobody can write there, so nobody needs to wait)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


@contextlib.contextmanager
def file_lock(path: Path, *, exclusive: bool, timeout: float, what: str):
    """Hold an flock on `path` (exclusive or shared), waiting up to `timeout` seconds."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one process at a time is the user's to ensure
        yield
        return
    fd = _open_lock_file(Path(path))
    if fd is None:
        yield
        return
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError(f"{what} busy in another macrostack process for over {timeout:.0f} s",
                                     str(path), "wait for it to finish (or stop it), then run again") from None
                time.sleep(POLL_S)
        yield
    finally:
        os.close(fd)  # closing releases the lock
