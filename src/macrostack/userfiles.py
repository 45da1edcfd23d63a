"""Opening a file the user named (config, overlay, data): one-line errors when it cannot be read.

Missing, a directory, not readable (permission denied) or not UTF-8 text each raise
`InputError` naming the file, before any parser sees it, so no parser's traceback or
multi-line message reaches the user.
"""

from __future__ import annotations

from pathlib import Path

from macrostack.errors import InputError


def check_readable(path: Path, what: str = "file", where: str | None = None, fix: str = "check the path") -> Path:
    """`path` if it is a regular file we may read; else InputError at `where` (default: the
    path); `fix` is the advice when it does not exist."""
    path = Path(path)
    where = where or str(path)
    if not path.exists():
        raise InputError(f"{what} not found", where, fix)
    if path.is_dir():
        raise InputError(f"{what} is a directory, not a file", where, "point to a file inside it")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise InputError(f"{what} cannot be read: permission denied", where,
                         "fix its permissions (chmod u+r) or run as its owner") from None
    except OSError as exc:
        raise InputError(f"{what} cannot be read ({exc.strerror})", where, "check the file") from None
    return path


def read_text(path: Path, what: str = "file", where: str | None = None) -> str:
    """The file's text, decoded as UTF-8 (invalid bytes are an error naming their line)."""
    data = check_readable(path, what, where).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{what} is not UTF-8 text (byte {data[exc.start]:#04x} on line {line})",
                         where or str(path), "save it as UTF-8 text") from None
