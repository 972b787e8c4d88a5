"""Check citations against the passages given, and renumber the lesson's markers."""

from coursegen.domain import CitedQuote
from coursegen.sources.citations import check_citations, keep_markers, renumber
from coursegen.sources.models import Passage


def _passage(i: int, text: str) -> Passage:
    return Passage(source_id=f"s{i}", title=f"Doc {i}", index=i, text=text, page=i + 1)


PASSAGES = [_passage(0, "Water boils at 100 degrees\n  at sea level."), _passage(1, "Ice melts.")]


def test_a_quote_must_occur_in_the_passage_it_names() -> None:
    cited = [
        CitedQuote(passage=2, quote="ice MELTS"),  # case and blanks do not matter
        CitedQuote(passage=1, quote="boils at 100 degrees at sea"),
        CitedQuote(passage=1, quote="boils at 90 degrees"),  # not in the passage
        CitedQuote(passage=3, quote="Ice melts."),  # no such passage
        CitedQuote(passage=2, quote="Ice"),  # a second quote of passage 2: not repeated
    ]
    kept, numbers, dropped = check_citations(cited, PASSAGES)
    assert [(c.source_id, c.page, c.chunk, c.quote) for c in kept] == [
        ("s1", 2, 1, "ice MELTS"),
        ("s0", 1, 0, "boils at 100 degrees at sea"),
    ]
    assert numbers == {2: 1, 1: 2}
    assert dropped == 2


def test_markers_follow_the_kept_citations_and_code_is_left_alone() -> None:
    body = "Ice melts [2]. Water boils [1]. Wrong [3]. Code: `items[2]`, see [2](url)."
    assert renumber(body, {2: 1, 1: 2}) == (
        "Ice melts [1]. Water boils [2]. Wrong . Code: `items[2]`, see [2](url)."
    )
    assert keep_markers("One [1], two [2], three [3].", 2) == "One [1], two [2], three ."
