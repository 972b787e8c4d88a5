"""Define the follow-up note that asks a model for the list items its answer was missing."""

MISSING_ITEMS: dict[str, str] = {
    "ru": (
        "В ответе {given} из {wanted} нужных элементов списка «{field}». Допиши только "
        "недостающие, ровно {missing}: они продолжают список после уже данных и не повторяют "
        "их. Ответ — JSON по той же схеме, в котором список «{field}» содержит только новые "
        "элементы."
    ),
    "en": (
        "Your answer has {given} of the {wanted} items the list “{field}” needs. Write only the "
        "missing ones, exactly {missing}: they continue the list after the ones above and do "
        "not repeat them. Answer with JSON of the same schema whose “{field}” list holds just "
        "the new items."
    ),
}
"""Per template language; {field} is the list's JSON name (themes, topics)."""
