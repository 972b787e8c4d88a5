"""Collect paragraphs into sections under a stack of headings (for DOCX, HTML, Markdown)."""

from coursegen.sources.models import Section


class SectionBuilder:
    """Feed headings (with levels) and paragraphs in reading order; read `sections` at the end."""

    def __init__(self) -> None:
        self._path: list[tuple[int, str]] = []
        self._paragraphs: list[str] = []
        self._done: list[Section] = []

    def heading(self, level: int, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            return
        self._close()
        self._path = [(lv, t) for lv, t in self._path if lv < level] + [(level, title)]

    def text(self, paragraph: str) -> None:
        paragraph = paragraph.strip()
        if paragraph:
            self._paragraphs.append(paragraph)

    @property
    def first_heading(self) -> str:
        return self._path[0][1] if self._path else ""

    @property
    def sections(self) -> list[Section]:
        self._close()
        return list(self._done)

    def _close(self) -> None:
        if self._paragraphs:
            heading = " / ".join(t for _, t in self._path)
            self._done.append(Section(text="\n\n".join(self._paragraphs), heading=heading))
            self._paragraphs = []
