"""Start-up stays lean: building the app imports no document parser, no Redis client and no
scikit-learn; what the first report loads is frozen out of the collector's scans too."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# What only an upload (the parsers), a Redis URL (redis) or the first course report (sklearn)
# needs: seconds of every start-up.
ON_DEMAND = ("pypdf", "docx", "bs4", "redis", "sklearn")
PROBE = f"""
import json, sys
from coursegen.server.app import create_app
from coursegen.settings import Settings
create_app(Settings(model="sandbox", data_dir=sys.argv[1]))
print(json.dumps([name for name in {ON_DEMAND!r} if name in sys.modules]))
"""


def run_probe(code: str, data_dir: Path) -> Any:
    """Run `code` in a fresh interpreter (from the repository root) and return the JSON of
    its last line."""
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.processes
def test_the_app_is_built_without_the_parsers_or_redis(tmp_path) -> None:
    assert run_probe(PROBE, tmp_path) == []


FROZEN_PROBE = """
import gc, json, sys, time
import httpx
from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.live_app import LiveApp
app = create_app(Settings(model="sandbox", data_dir=sys.argv[1]))
with LiveApp(app) as live:
    before = "sklearn" in sys.modules
    options = {"themes": 1, "topics_per_theme": 2}
    body = {"course_name": "Data engineering for beginners", "options": options}
    job = httpx.post(f"{live.url}/courses", json=body, timeout=30).json()["id"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{live.url}/courses/{job}/report").status_code != 200:
        assert time.monotonic() < deadline, "no report"
        time.sleep(0.1)
    from sklearn.metrics.pairwise import cosine_similarity
    scanned = gc.get_objects()
    ids = {id(o) for o in scanned}
    found = {"sklearn_at_start": before, "sklearn_frozen": id(cosine_similarity) not in ids}
    found |= {"graph_frozen": id(app.state.graph) not in ids, "scanned": len(scanned)}
    print(json.dumps(found))
"""


@pytest.mark.processes
def test_what_the_first_report_loads_is_frozen_with_the_rest(tmp_path) -> None:
    """What the course report loads (scikit-learn, syllable data) is loaded by the first
    report, not at start-up, and then kept out of the collector's scans like everything built
    at start-up."""
    found = run_probe(FROZEN_PROBE, tmp_path)
    assert found.pop("scanned") < 50_000, found  # unfrozen, the CMU dictionary alone is 270,000
    assert found == {"sklearn_at_start": False, "sklearn_frozen": True, "graph_frozen": True}
