"""Run the CLI: python -m coursegen.cli."""

from coursegen.cli import app

# Guarded: `serve --workers N` spawns processes that import this module again.
if __name__ == "__main__":
    app()
