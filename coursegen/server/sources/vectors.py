"""Store passage vectors as float32 bytes and search them exactly in numpy (both databases)."""

import numpy as np

from coursegen.server.core.db import Tx
from coursegen.server.sources.matrices import Matrices

_INSERT = (
    "INSERT INTO coursegen_source_vectors (seq, source_id, model, embedding) "
    "SELECT seq, source_id, ?, ? FROM coursegen_source_chunks WHERE source_id = ? AND idx = ?"
)


class VectorIndex:
    """The vectors in `coursegen_source_vectors` (a BLOB / bytea a chunk), each searched
    source's matrix kept in memory once read.

    The cache is safe with several processes on one PostgreSQL: a source never changes after
    its upload (one transaction), ids are never reused, and a search reads only the matrices of
    sources the database still lists for the owner, so a source another process deleted is
    never searched here; its matrix just ages out.
    """

    def __init__(self, matrices: Matrices | None = None) -> None:
        self.matrices = matrices or Matrices()

    async def store(self, tx: Tx, source_id: str, model: str, vectors: list[np.ndarray]) -> None:
        """Insert one unit vector per chunk of the source (after its chunks), in chunk order."""
        await tx.run_many(
            _INSERT,
            [(model, v.astype(np.float32).tobytes(), source_id, i) for i, v in enumerate(vectors)],
        )

    async def delete(self, tx: Tx, source_id: str) -> None:
        """Delete a source's vectors (of every model), in the database and in memory."""
        await tx.run("DELETE FROM coursegen_source_vectors WHERE source_id = ?", (source_id,))
        self.matrices.drop(source_id)

    async def nearest(
        self, tx: Tx, owner: str, ids: list[str], model: str, vector: np.ndarray, n: int
    ) -> dict[int, float]:
        """Chunk seq -> cosine of the `n` chunks of the owner's sources `ids` nearest a unit
        vector, best first (ties by seq).

        Exact: a dot product over every vector of those sources. An approximate index (HNSW)
        would filter by owner and source after its scan and miss a small source's passages.
        """
        owned = await tx.fetch(
            "SELECT id FROM coursegen_sources WHERE owner = ? "
            f"AND id IN ({', '.join('?' for _ in ids)})",
            (owner, *ids),
        )
        query = vector.astype(np.float32)
        best: list[tuple[float, int]] = []
        for row in owned:
            seqs, matrix = await self._matrix(tx, row["id"], model)
            if len(seqs):
                scores = matrix @ query
                # The n best without sorting them all (a full argsort costs as much again).
                top = np.argpartition(-scores, n)[:n] if len(scores) > n else range(len(scores))
                best += [(float(scores[i]), int(seqs[i])) for i in top]
        best.sort(key=lambda found: (-found[0], found[1]))
        return {seq: score for score, seq in best[:n]}

    async def _matrix(self, tx: Tx, source_id: str, model: str) -> tuple[np.ndarray, np.ndarray]:
        """A source's chunk seqs and vectors (rows), from memory once read."""
        cached = self.matrices.get(source_id, model)
        if cached is not None:
            return cached
        rows = await tx.fetch(
            "SELECT seq, embedding FROM coursegen_source_vectors "
            "WHERE source_id = ? AND model = ? ORDER BY seq",
            (source_id, model),
        )
        seqs = np.array([r["seq"] for r in rows], dtype=np.int64)
        flat = np.frombuffer(b"".join(r["embedding"] for r in rows), dtype=np.float32)
        matrix = flat.reshape(len(rows), -1) if rows else flat.reshape(0, 0)
        self.matrices.put(source_id, model, seqs, matrix)
        return seqs, matrix
