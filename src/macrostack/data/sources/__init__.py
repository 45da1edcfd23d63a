"""Data sources: one module per input format, each returning a validated `Dataset`."""
