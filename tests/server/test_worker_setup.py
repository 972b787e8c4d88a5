"""What `serve --workers N` does before its workers start: pick N, prepare the store once, and
refuse a bad configuration itself (a worker failing on it would be restarted for ever)."""

import os
import time
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from coursegen.cli import app
from coursegen.domain import CourseRequest
from coursegen.server.jobs.models import Job, JobStatus
from coursegen.server.jobs.sqlite_store import SqliteJobStore
from coursegen.server.workers import prepare, worker_count
from coursegen.settings import Settings, get_settings


def test_one_worker_a_core_but_one_for_the_local_model(tmp_path: Path) -> None:
    assert worker_count(Settings(model="sandbox", data_dir=tmp_path)) == (os.cpu_count() or 1)
    assert worker_count(Settings(model="local", data_dir=tmp_path)) == 1
    assert worker_count(Settings(model="llamacpp:/m.gguf", data_dir=tmp_path)) == 1
    assert worker_count(Settings(model="local", workers=3, data_dir=tmp_path)) == 3


async def test_prepare_frees_the_leases_of_the_previous_run_once(tmp_path: Path) -> None:
    settings = Settings(model="sandbox", data_dir=tmp_path)
    store = SqliteJobStore(settings.sqlite_path)
    await store.setup()
    now = time.time()
    job = Job(
        id="j1",
        owner="o",
        status=JobStatus.RUNNING,
        request=CourseRequest(course_name="C"),
        created_at=now,
        updated_at=now,
    )
    await store.create(job)
    await store.update("j1", {"lease_owner": "dead:0000", "lease_expires_at": now + 600})
    await store.close()

    await prepare(settings)

    store = SqliteJobStore(settings.sqlite_path)
    await store.setup()
    try:
        held = await store.get("j1")
        assert held is not None and held.lease_owner is None
        assert [j.id for j in await store.claim("w", 10, 5)] == ["j1"]  # claimable at once
    finally:
        await store.close()


def test_a_network_bind_without_keys_is_refused_before_any_worker_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_uvicorn(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn must not start")

    monkeypatch.setattr(uvicorn, "run", no_uvicorn)
    monkeypatch.setenv("COURSEGEN_MODEL", "sandbox")
    monkeypatch.setenv("COURSEGEN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--workers", "2", "--host", "0.0.0.0"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "refusing to serve on 0.0.0.0 without API keys" in result.output
