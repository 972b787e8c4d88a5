"""Find lessons that repeat each other: TF-IDF of character n-grams, cosine similarity."""

from itertools import combinations

from coursegen.domain import Course
from coursegen.quality._lessons import written
from coursegen.quality.model import OverlapPair, OverlapSection

THRESHOLD = 0.8
# Character n-grams within words work for every script and survive inflection (Russian
# endings), where word tokens would not; sublinear tf keeps a repeated word from dominating.
METHOD = "cosine of TF-IDF vectors of character 3–5-grams within words (scikit-learn)"


def overlap_section(course: Course, threshold: float = THRESHOLD) -> OverlapSection:
    """Every pair of written lessons at or above the threshold, most alike first."""
    # Imported here: scikit-learn (and scipy under it) takes a second or more to import, which
    # the server would otherwise pay at every start, and the CLI on every command.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    lessons = [lesson for lesson in written(course) if lesson.text.strip()]
    if len(lessons) < 2:
        return OverlapSection(pairs=[], max=None, threshold=threshold, method=METHOD)
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    similarity = cosine_similarity(vectors.fit_transform([lesson.text for lesson in lessons]))
    scored = [
        (round(min(1.0, float(similarity[i, j])), 3), lessons[i].place, lessons[j].place)
        for i, j in combinations(range(len(lessons)), 2)
    ]
    pairs = [OverlapPair(a=a, b=b, similarity=s) for s, a, b in scored if s >= threshold]
    pairs.sort(key=lambda pair: -pair.similarity)
    top = max(score for score, _, _ in scored)
    return OverlapSection(pairs=pairs, max=top, threshold=threshold, method=METHOD)
