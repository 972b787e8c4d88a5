"""Keep recently searched sources' vectors in memory as matrices, within a byte budget."""

from collections import OrderedDict

import numpy as np

# A 10,000-chunk source embedded in 1,536 dimensions is ~61 MB of float32.
MAX_CACHED_BYTES = 256 * 1024 * 1024


class Matrices:
    """Each source's (chunk seqs, unit vectors as rows) by (source id, model), least recently
    used first out. Sources never change after upload: only a deletion invalidates one."""

    def __init__(self, max_bytes: int = MAX_CACHED_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._bytes = 0

    def get(self, source_id: str, model: str) -> tuple[np.ndarray, np.ndarray] | None:
        found = self._items.get((source_id, model))
        if found is not None:
            self._items.move_to_end((source_id, model))
        return found

    def put(self, source_id: str, model: str, seqs: np.ndarray, matrix: np.ndarray) -> None:
        replaced = self._items.pop((source_id, model), None)
        if replaced is not None:
            self._bytes -= replaced[1].nbytes
        if matrix.nbytes > self.max_bytes:
            return  # larger than the whole budget: searched from the database each time
        self._items[(source_id, model)] = (seqs, matrix)
        self._bytes += matrix.nbytes
        while self._bytes > self.max_bytes:
            _, (_, evicted) = self._items.popitem(last=False)
            self._bytes -= evicted.nbytes

    def drop(self, source_id: str) -> None:
        """Forget a source's matrices (of every model)."""
        for key in [k for k in self._items if k[0] == source_id]:
            self._bytes -= self._items.pop(key)[1].nbytes
