"""The SQLite checkpointer writes in one trip to its database thread, and what it writes reads
back through LangGraph's own async API."""

from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from coursegen.server.core._sqlite_saver import PatientSqliteSaver
from coursegen.server.core.checkpointer import open_checkpointer
from coursegen.settings import Settings


@pytest.fixture
async def saver(tmp_path):
    async with open_checkpointer(Settings(model="sandbox", data_dir=tmp_path)) as saver:
        assert isinstance(saver, PatientSqliteSaver)
        yield saver


def count_trips(saver: PatientSqliteSaver, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    trips: list[Any] = []
    execute = saver.conn._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await execute(fn, *args, **kwargs)

    monkeypatch.setattr(saver.conn, "_execute", counted)
    return trips


async def test_a_checkpoint_and_its_writes_take_one_trip_each_and_read_back(
    saver: PatientSqliteSaver, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = count_trips(saver, monkeypatch)
    config: Any = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
    checkpoint = empty_checkpoint()
    saved = await saver.aput(config, checkpoint, {"source": "input", "step": -1}, {})
    assert len(trips) == 1
    await saver.aput_writes(saved, [("topics", ["Заголовок", 1]), ("notes", {"a": None})], "task-1")
    assert len(trips) == 2

    found = await saver.aget_tuple(saved)
    assert found is not None
    assert found.checkpoint["id"] == checkpoint["id"]
    assert found.metadata["step"] == -1
    assert found.pending_writes == [
        ("task-1", "topics", ["Заголовок", 1]),
        ("task-1", "notes", {"a": None}),
    ]
    assert not saver.conn.in_transaction  # committed, nothing left open on the connection
