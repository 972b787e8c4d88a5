"""Fixtures for the export tests: the hostile Russian course."""

import pytest

from coursegen.domain import Course
from tests.support.hostile_course import build_course


@pytest.fixture
def course() -> Course:
    return build_course()
