"""Run directories (artifacts) and the run catalog."""
