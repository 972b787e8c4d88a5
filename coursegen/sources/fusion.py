"""Merge full-text and vector rankings of passages by reciprocal rank fusion (RRF)."""

from coursegen.sources.models import Passage

# The constant of Cormack et al. (2009): a passage's rank matters more than a gap in raw
# scores, and BM25 / ts_rank / cosine scores, on different scales, are never compared.
RRF_K = 60


def fuse(rankings: list[list[Passage]], k: int) -> list[Passage]:
    """The `k` passages with the highest sum of 1 / (RRF_K + rank) over the rankings.

    Each passage keeps its first ranking's fields; its `score` becomes the fused score. Ties
    go to the earlier source and passage, so the answer is deterministic.
    """
    scores: dict[tuple[str, int], float] = {}
    passages: dict[tuple[str, int], Passage] = {}
    for ranking in rankings:
        for rank, found in enumerate(ranking, 1):
            key = (found.source_id, found.index)
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            passages.setdefault(key, found)
    best = sorted(scores, key=lambda key: (-scores[key], key))[:k]
    return [passages[key].model_copy(update={"score": scores[key]}) for key in best]
