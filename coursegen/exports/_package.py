"""Write zip packages byte for byte the same for the same course."""

import io
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def zip_files(files: dict[str, str | bytes]) -> bytes:
    """A deflated zip of `path -> content`; `imsmanifest.xml` goes first, text as UTF-8."""
    buffer = io.BytesIO()
    order = sorted(files, key=lambda path: (path != "imsmanifest.xml", path))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in order:
            content = files[path]
            data = content.encode("utf-8") if isinstance(content, str) else content
            info = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
