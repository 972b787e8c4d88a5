"""The stores' in-memory vectors: least recently used out, a deleted source forgotten."""

import numpy as np

from coursegen.server.sources.matrices import Matrices


def _matrix(rows: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(rows, dtype=np.int64), np.ones((rows, 4), dtype=np.float32)  # 16 B a row


def test_the_budget_evicts_the_least_recently_used_and_a_drop_forgets_every_model() -> None:
    cache = Matrices(max_bytes=160)
    cache.put("a", "m", *_matrix(4))
    cache.put("b", "m", *_matrix(4))
    assert cache.get("a", "m") is not None  # a is now the most recently used
    cache.put("c", "m", *_matrix(4))  # 192 bytes: b goes
    assert cache.get("b", "m") is None
    assert cache.get("a", "m") is not None and cache.get("c", "m") is not None
    cache.put("a", "other", *_matrix(1))
    assert cache.get("a", "m") is not None  # one model's matrix leaves the other's
    cache.drop("a")
    assert cache.get("a", "m") is None and cache.get("a", "other") is None
    cache.put("huge", "m", *_matrix(11))  # over the whole budget: not kept
    assert cache.get("huge", "m") is None and cache.get("c", "m") is not None
