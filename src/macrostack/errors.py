"""The one error type users see.

Bad input (files, config, parameters) raises `InputError` with a message that says
what is wrong, where (file, row, column or config key) and how to fix it. The CLI
prints it on one line and exits with code 2. Bugs stay ordinary exceptions.
"""


class InputError(ValueError):
    """Bad input a user can fix. `str(err)` is one actionable line."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        parts = [f"{where}: {what}" if where else what]
        if fix:
            parts.append(f"fix: {fix}")
        super().__init__(" — ".join(parts))
