"""Market data: sources → DuckDB market store → MarketData numpy panels."""
