"""Name a download in its Content-Disposition header (RFC 6266 with RFC 8187 `filename*`)."""

from urllib.parse import quote

from coursegen.exports import ascii_filename


def attachment(filename: str) -> str:
    """`attachment` naming the file in UTF-8 (`filename*`) and in ASCII for older clients.

    Clients that read `filename*` save `основы-python.md`; the plain `filename=` keeps what
    ASCII holds of it, so a Cyrillic name never becomes a bare `python.md` for everyone.
    """
    fallback = ascii_filename(filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
