"""macrostack: a layered, auditable backtester for systematic futures portfolios."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("macrostack")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

# The notebook API, imported on first use so that `import macrostack` (and the CLI) stay fast.
_API = {"run": "macrostack.api", "load_run": "macrostack.api", "Run": "macrostack.api",
        "load_config": "macrostack.config", "StackConfig": "macrostack.config"}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'macrostack' has no attribute {name!r}")
