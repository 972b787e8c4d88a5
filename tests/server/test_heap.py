"""A serving app keeps its start-up objects frozen out of the collector's reach, and hands
them back when it stops."""

import gc

import httpx

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.live_app import LiveApp


def test_start_up_objects_are_frozen_while_the_app_serves(tmp_path) -> None:
    gc.unfreeze()  # whatever an earlier test of this worker left
    app = create_app(Settings(model="sandbox", data_dir=tmp_path))
    with LiveApp(app) as live:
        assert httpx.get(f"{live.url}/healthz").status_code == 200
        frozen = gc.get_freeze_count()
        scanned = {id(obj) for obj in gc.get_objects()}
        # The graph compiled in the lifespan and its checkpointer are among the frozen.
        assert id(app.state.graph) not in scanned
        assert id(app.state.graph.checkpointer) not in scanned
    assert frozen > 10_000
    assert gc.get_freeze_count() == 0
