"""The one error type users see.

Bad input (files, config, parameters) raises `InputError` with a message that says
what is wrong, where (file, row, column or config key) and how to fix it. The CLI
prints it on one line and exits with code 2. Bugs stay ordinary exceptions.
"""


class InputError(ValueError):
    """Bad input a user can fix. `str(err)` is one actionable line."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        self.what, self.where, self.fix = what, where, fix  # parts, for callers that re-frame the error
        parts = [f"{where}: {what}" if where else what]
        if fix:
            parts.append(f"fix: {fix}")
        super().__init__(" — ".join(parts))


_OS_FIXES = {
    "ENOSPC": "free disk space, or write elsewhere (--out / --store), and run again",
    "EDQUOT": "the disk quota is used up: free space, or write elsewhere (--out / --store)",
    "EFBIG": "the file size limit was reached (ulimit -f): raise it, or write elsewhere",
    "EACCES": "check the path's permissions, or choose another path",
    "EPERM": "check the path's permissions, or choose another path",
    "EROFS": "the filesystem is read-only: choose a writable path",
    "EISDIR": "a folder is where a file is expected: pass a file",
    "ENOTDIR": "a file is where a folder is expected: pass a folder",
    "ENOENT": "check the path",
    "ENAMETOOLONG": "use a shorter path",
}


def os_error(exc: OSError) -> InputError:
    """An OS failure (full disk, permissions, a file where a folder should be…) as one line."""
    import errno
    import os
    import re

    code = exc.errno
    if code is None:  # pyarrow and others put "[Errno N]" in the message only
        found = re.search(r"\[Errno (\d+)\]", str(exc))
        code = int(found.group(1)) if found else None
    name = errno.errorcode.get(code, "") if code is not None else ""
    what = os.strerror(code) if code is not None else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    where = exc.filename if exc.filename is not None else None
    return InputError(what[:200], str(where) if where is not None else None,
                      _OS_FIXES.get(name, "check the path and the disk, and run again"))
