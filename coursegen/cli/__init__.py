"""Command line: `serve` runs the HTTP service; `generate`, `watch`, `status`, `export` use it.

Without `--server` the client commands run the service in-process on a free loopback port
(configured like `coursegen serve`, from COURSEGEN_* variables), so a course can be generated
with no server running. `keys` manages API keys.
"""

from coursegen.cli import commands, keys, serve  # noqa: F401  (registers the commands)
from coursegen.cli._app import app

__all__ = ["app"]
