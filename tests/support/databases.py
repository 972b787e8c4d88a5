"""Give a test a PostgreSQL database of its own on the local server, dropped afterwards."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def private_postgres() -> Iterator[str]:
    """Create `coursegen_test_<random>`, yield its URL, drop it (connections and all)."""
    name = f"coursegen_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # .ci/run starts it: a missing server is a failure
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
