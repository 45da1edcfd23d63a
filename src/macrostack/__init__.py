"""macrostack: a layered, auditable backtester for systematic futures portfolios."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("macrostack")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
