"""Hold the sandbox model's short phrase sets, one per language it writes (English otherwise)."""

from typing import Final

# Placeholders: {s} the subject (course, theme or topic title), {i} the item's number,
# {label} the item's kind ("Theme 2", "Topic 1", ...).
PHRASES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "theme": "Theme",
        "topic": "Topic",
        "example": "Example",
        "part": "Part",
        "title": "{label} {i}: {s}",
        "sentence": "What the learner studies about {s}, step by step.",
        "summary": "This lesson explains {s} in plain words and shows how to use it.",
        "body": "## {s}\n\nThis lesson introduces {s}. It explains the main idea, "
        "shows an example and ends with practice.\n\n- First, the idea.\n- Then, its use.",
        "point": "Key idea {i} of {s}.",
        "question": "What is the main idea {i} of {s}?",
        "answer": "The main idea {i} of {s} is explained in the lesson.",
        "problem": "Apply {s} to a small task ({i}).",
        "solution": "Take the task apart, apply {s} step by step, check the result.",
        "term": "term {i} of {s}",
        "definition": "A short definition used when studying {s}.",
        "text": "A note about {s}.",
    },
    "ru": {
        "theme": "Тема",
        "topic": "Топик",
        "example": "Пример",
        "part": "Часть",
        "title": "{label} {i}: {s}",
        "sentence": "Что слушатель изучает о «{s}», шаг за шагом.",
        "summary": "Урок простыми словами объясняет «{s}» и показывает, как это применять.",
        "body": "## {s}\n\nЭтот урок знакомит с темой «{s}». Он объясняет главную идею, "
        "показывает пример и заканчивается практикой.\n\n- Сначала идея.\n- Затем применение.",
        "point": "Главная мысль {i} о «{s}».",
        "question": "В чём главная идея {i} темы «{s}»?",
        "answer": "Главная идея {i} темы «{s}» объяснена в уроке.",
        "problem": "Примените «{s}» к небольшой задаче ({i}).",
        "solution": "Разберите задачу, примените «{s}» шаг за шагом, проверьте результат.",
        "term": "термин {i} темы «{s}»",
        "definition": "Краткое определение, которое нужно при изучении «{s}».",
        "text": "Заметка о «{s}».",
    },
    "de": {
        "theme": "Thema",
        "topic": "Lektion",
        "example": "Beispiel",
        "part": "Teil",
        "title": "{label} {i}: {s}",
        "sentence": "Was die Lernenden über {s} Schritt für Schritt lernen.",
        "summary": "Diese Lektion erklärt {s} in einfachen Worten und zeigt die Anwendung.",
        "body": "## {s}\n\nDiese Lektion führt in {s} ein. Sie erklärt die Grundidee, "
        "zeigt ein Beispiel und endet mit Übungen.\n\n- Zuerst die Idee.\n- Dann die Anwendung.",
        "point": "Kernaussage {i} zu {s}.",
        "question": "Was ist die Kernaussage {i} zu {s}?",
        "answer": "Die Kernaussage {i} zu {s} wird in der Lektion erklärt.",
        "problem": "Wende {s} auf eine kleine Aufgabe an ({i}).",
        "solution": "Zerlege die Aufgabe, wende {s} Schritt für Schritt an, prüfe das Ergebnis.",
        "term": "Begriff {i} zu {s}",
        "definition": "Eine kurze Definition, die beim Lernen von {s} hilft.",
        "text": "Eine Notiz zu {s}.",
    },
    "es": {
        "theme": "Tema",
        "topic": "Lección",
        "example": "Ejemplo",
        "part": "Parte",
        "title": "{label} {i}: {s}",
        "sentence": "Lo que el estudiante aprende sobre {s}, paso a paso.",
        "summary": "Esta lección explica {s} con palabras sencillas y muestra cómo usarlo.",
        "body": "## {s}\n\nEsta lección presenta {s}. Explica la idea principal, "
        "muestra un ejemplo y termina con práctica.\n\n- Primero, la idea.\n- Después, su uso.",
        "point": "Idea clave {i} sobre {s}.",
        "question": "¿Cuál es la idea clave {i} sobre {s}?",
        "answer": "La idea clave {i} sobre {s} se explica en la lección.",
        "problem": "Aplica {s} a una tarea pequeña ({i}).",
        "solution": "Divide la tarea, aplica {s} paso a paso y comprueba el resultado.",
        "term": "término {i} de {s}",
        "definition": "Una definición breve que se usa al estudiar {s}.",
        "text": "Una nota sobre {s}.",
    },
    "fr": {
        "theme": "Thème",
        "topic": "Leçon",
        "example": "Exemple",
        "part": "Partie",
        "title": "{label} {i} : {s}",
        "sentence": "Ce que l'apprenant étudie sur {s}, pas à pas.",
        "summary": "Cette leçon explique {s} avec des mots simples et montre comment s'en servir.",
        "body": "## {s}\n\nCette leçon présente {s}. Elle explique l'idée principale, "
        "montre un exemple et se termine par un exercice.\n\n- D'abord, l'idée.\n"
        "- Ensuite, son usage.",
        "point": "Idée clé {i} sur {s}.",
        "question": "Quelle est l'idée clé {i} sur {s} ?",
        "answer": "L'idée clé {i} sur {s} est expliquée dans la leçon.",
        "problem": "Appliquez {s} à une petite tâche ({i}).",
        "solution": "Découpez la tâche, appliquez {s} pas à pas, vérifiez le résultat.",
        "term": "terme {i} de {s}",
        "definition": "Une courte définition utile pour étudier {s}.",
        "text": "Une note sur {s}.",
    },
}

# Which phrase a string gets, by the first word of this list found in its property name.
KINDS: Final[tuple[tuple[str, str], ...]] = (
    ("title", "title"),
    ("markdown", "body"),
    ("body", "body"),
    ("question", "question"),
    ("answer", "answer"),
    ("problem", "problem"),
    ("solution", "solution"),
    ("definition", "definition"),
    ("term", "term"),
    ("summary", "summary"),
    ("description", "sentence"),
    ("point", "point"),
)

# The label of an item of an array, by the array's property name.
LABELS: Final[dict[str, str]] = {"themes": "theme", "topics": "topic", "examples": "example"}


def phrases_for(language: str) -> dict[str, str]:
    """The phrase set of a language code, English when the sandbox has none for it."""
    return PHRASES.get(language, PHRASES["en"])


def phrase_kind(key: str) -> str:
    """The kind of phrase a property of this name holds."""
    name = key.lower()
    return next((kind for word, kind in KINDS if word in name), "text")
