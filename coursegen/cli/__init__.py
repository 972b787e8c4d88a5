"""Command line: `serve` runs the HTTP service; `generate`, `watch`, `status`, `export` use it.

Without `--server` the client commands run the service in-process on a free loopback port
(configured like `coursegen serve`, from COURSEGEN_* variables), so a course can be generated
with no server running. `keys` manages API keys, `sources` the documents courses cite.
"""

from coursegen.cli import commands, keys, serve, sources  # noqa: F401  (registers the commands)
from coursegen.cli._app import app

__all__ = ["app"]
