"""Decode streamed tokens to text and stop at a stop string, never sending part of one."""

import codecs


class StopScanner:
    """Decode streamed token bytes; hold back text that may begin a stop string."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.sent = 0
        self.stopped = False

    def feed(self, piece: bytes) -> tuple[str, bool]:
        """Add a token's bytes; return the text now safe to send and whether a stop was hit."""
        self.text += self.decoder.decode(piece)
        start = max(0, self.sent - max((len(s) for s in self.stops), default=0))
        hits = [i for s in self.stops if (i := self.text.find(s, start)) >= 0]
        if hits:
            self.text, self.stopped = self.text[: min(hits)], True
            return self._take(len(self.text)), True
        held = max(
            (n for s in self.stops for n in range(1, len(s)) if self.text.endswith(s[:n])),
            default=0,
        )
        return self._take(len(self.text) - held), False

    def flush(self) -> str:
        """Return what is left once generation ends."""
        if not self.stopped:
            self.text += self.decoder.decode(b"", final=True)
        return self._take(len(self.text))

    def _take(self, end: int) -> str:
        text, self.sent = self.text[self.sent : end], max(self.sent, end)
        return text
