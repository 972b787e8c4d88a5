"""Wrap HTML content into a complete page with the course's language and direction."""

from coursegen.exports._labels import direction
from coursegen.exports._markup import esc


def html_page(title: str, language: str, body: str, head: str = "") -> str:
    """A UTF-8 HTML5 page; `head` and `body` are trusted HTML built by the exporters."""
    lang = esc(language)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}" dir="{direction(language)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n{head}\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def inline_style(css: str) -> str:
    """A `<style>` element (our own stylesheet; it holds no `</style>`)."""
    return f"<style>\n{css}</style>"


def inline_script(js: str) -> str:
    """A `<script>` element for our own code (it holds no `</script>`)."""
    return f"<script>\n{js}</script>"
