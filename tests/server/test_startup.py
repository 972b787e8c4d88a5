"""Start-up stays lean: building the app imports no document parser and no Redis client."""

import json
import subprocess
import sys

import pytest

# What only an upload (the parsers) or a Redis URL (redis) needs: 2 s of every start-up.
ON_DEMAND = ("pypdf", "docx", "bs4", "redis")
PROBE = f"""
import json, sys
from coursegen.server.app import create_app
from coursegen.settings import Settings
create_app(Settings(model="sandbox", data_dir=sys.argv[1]))
print(json.dumps([name for name in {ON_DEMAND!r} if name in sys.modules]))
"""


@pytest.mark.processes
def test_the_app_is_built_without_the_parsers_or_redis(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
