"""The format registry, file names, and accepting the course as its JSON dict."""

import json

import pytest

from coursegen.exports import EXPORTS, ascii_filename, export_course
from coursegen.exports._slug import ascii_slug, slugify
from coursegen.names import EXPORT_NAMES


def test_registry_lists_the_four_formats():
    assert set(EXPORTS) == {"md", "html", "scorm", "imscc"}
    assert tuple(EXPORTS) == EXPORT_NAMES  # the registry holds every name, in the names' order
    assert EXPORTS["md"].media_type.startswith("text/markdown")
    assert EXPORTS["html"].media_type.startswith("text/html")


@pytest.mark.parametrize("fmt", sorted(EXPORTS))
def test_export_course_returns_bytes_media_type_and_file_name(course, fmt):
    data, media_type, filename = export_course(course, fmt)
    assert isinstance(data, bytes) and data
    assert media_type == EXPORTS[fmt].media_type
    assert filename == f"основы-программирования-if-циклы.{EXPORTS[fmt].extension}"
    if EXPORTS[fmt].extension.endswith(("zip", "imscc")):
        assert data[:4] == b"PK\x03\x04"
    else:
        assert "«циклы»" in data.decode("utf-8")


@pytest.mark.parametrize("fmt", sorted(EXPORTS))
def test_course_json_dict_gives_the_same_export(course, fmt):
    as_json = json.loads(course.model_dump_json())
    assert export_course(as_json, fmt) == export_course(course, fmt)


def test_unknown_format_is_refused(course):
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        export_course(course, "pdf")


@pytest.mark.parametrize(
    ("name", "slug", "ascii"),
    [
        ("Python for Data Analysts", "python-for-data-analysts", "python-for-data-analysts"),
        ("Основы Python", "основы-python", "python"),
        (
            "Английский для технических специальностей",
            "английский-для-технических-специальностей",
            "course",
        ),
        ("Python для начинающих: часть 2", "python-для-начинающих-часть-2", "python-2"),
        ("Café & crème brûlée!", "café-crème-brûlée", "cafe-creme-brulee"),
        ("हिन्दी भाषा", "हिन्दी-भाषा", "course"),  # vowel signs and virama stay in the word
        ("../../etc/passwd", "etc-passwd", "etc-passwd"),
        ("a\x00b\nc_d", "a-b-c-d", "a-b-c-d"),
        ("x" * 200, "x" * 60, "x" * 60),
        ("", "course", "course"),
    ],
)
def test_file_names_keep_the_words_of_any_script(name, slug, ascii):
    assert slugify(name) == slug
    assert ascii_slug(name) == ascii


def test_export_uses_the_slug_of_the_course_name(course):
    course.course_name = "Основы Python 3"
    assert export_course(course, "scorm")[2] == "основы-python-3.scorm12.zip"
    assert ascii_filename("основы-python-3.scorm12.zip") == "python-3.scorm12.zip"
    course.course_name = "Основы программирования"
    assert export_course(course, "imscc")[2] == "основы-программирования.imscc"
    assert ascii_filename("основы-программирования.imscc") == "course.imscc"
