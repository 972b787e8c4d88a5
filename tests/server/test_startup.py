"""Start-up stays lean: building the app imports no document parser, no Redis client and no
scikit-learn; what the app loads later is frozen out of the collector's scans too."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

# What only an upload (the parsers) or a Redis URL (redis) needs, and what the lifespan loads
# on a thread once the app serves (sklearn, for course reports): seconds of every start-up.
ON_DEMAND = ("pypdf", "docx", "bs4", "redis", "sklearn")
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


FROZEN_PROBE = """
import gc, json, sys, time
import httpx
from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.live_app import LiveApp
app = create_app(Settings(model="sandbox", data_dir=sys.argv[1]))
with LiveApp(app) as live:
    assert httpx.get(f"{live.url}/healthz").status_code == 200
    deadline = time.monotonic() + 60
    frozen = False
    while not frozen and time.monotonic() < deadline:
        time.sleep(0.1)
        module = sys.modules.get("sklearn.metrics.pairwise")
        if module is not None:
            frozen = id(module.cosine_similarity) not in {id(o) for o in gc.get_objects()}
    scanned = gc.get_objects()
    graph_frozen = all(o is not app.state.graph for o in scanned)
    print(json.dumps({"frozen": frozen, "graph_frozen": graph_frozen, "scanned": len(scanned)}))
"""


@pytest.mark.processes
def test_scikit_learn_is_loaded_after_start_and_frozen_with_the_rest(tmp_path) -> None:
    """What the course report loads (scikit-learn, syllable data) is loaded on a thread once
    the app serves, and then kept out of the collector's scans like everything built at
    start-up."""
    done = subprocess.run(
        [sys.executable, "-c", FROZEN_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert (found["frozen"], found["graph_frozen"]) == (True, True)
    # Left to scan: what serving allocates. Unfrozen, the English syllable dictionary alone
    # (loaded by the preload too) would be 250,000 objects.
    assert found["scanned"] < 50_000, found
