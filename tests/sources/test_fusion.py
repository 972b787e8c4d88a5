"""Reciprocal rank fusion: agreement between rankings wins, ties are deterministic."""

from coursegen.sources.fusion import RRF_K, fuse
from coursegen.sources.models import Passage


def _p(source: str, index: int, score: float = 1.0) -> Passage:
    return Passage(
        source_id=source, title=source, index=index, text=f"{source}{index}", score=score
    )


def test_a_passage_both_rankings_hold_beats_the_top_of_one() -> None:
    lexical = [_p("a", 0, 9.0), _p("a", 1, 5.0)]
    semantic = [_p("b", 0, 0.9), _p("a", 1, 0.8)]
    fused = fuse([lexical, semantic], 3)
    assert [(p.source_id, p.index) for p in fused] == [("a", 1), ("a", 0), ("b", 0)]
    assert fused[0].score == 1 / (RRF_K + 2) + 1 / (RRF_K + 2)
    assert fused[1].score == fused[2].score == 1 / (RRF_K + 1)  # a tie: earlier source first


def test_k_bounds_the_answer_and_one_ranking_passes_through_in_order() -> None:
    ranking = [_p("s", i) for i in range(5)]
    assert [p.index for p in fuse([ranking, []], 3)] == [0, 1, 2]
    assert fuse([[], []], 3) == []
