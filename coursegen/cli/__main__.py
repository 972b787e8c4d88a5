"""Run the CLI: python -m coursegen.cli."""

from coursegen.cli import app

app()
