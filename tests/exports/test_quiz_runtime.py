"""Run the quiz and SCORM scripts in Node with a fake DOM and a recording SCORM 1.2 API."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from coursegen.exports import to_scorm12
from tests.support.packages import members

NODE = shutil.which("node")
HARNESS = Path(__file__).with_name("quiz_harness.js")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js to run the scripts")


@pytest.fixture
def scripts(course, tmp_path):
    files = members(to_scorm12(course))
    for name in ("quiz.js", "scorm.js"):
        (tmp_path / name).write_bytes(files[name])
    return tmp_path


def run(scripts: Path, actions: list, *, questions=4, scorm=True, api=True, suspend="", status=""):
    plan = {"questions": questions, "scorm": scorm, "withApi": api, "suspend": suspend}
    plan |= {"status": status, "actions": actions}
    argv = [NODE, str(HARNESS), str(scripts / "quiz.js"), str(scripts / "scorm.js")]
    done = subprocess.run([*argv, json.dumps(plan)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sets(result: dict, key: str) -> list[str]:
    return [entry[2] for entry in result["log"] if entry[:2] == ["LMSSetValue", key]]


def test_opening_an_answer_offers_the_marks_and_marks_update_the_score(scripts):
    result = run(scripts, [["open", 0], ["mark", 1, "1"]], scorm=False)
    assert result["state"][0] == {"mark": None, "open": True, "marksHidden": False}
    assert result["state"][1] == {"mark": "1", "open": True, "marksHidden": False}
    assert result["state"][2]["marksHidden"] is True
    assert result["board"] == "Right: 1 of 4"


def test_scorm_reports_score_status_and_finishes(scripts):
    marks = [["mark", 0, "1"], ["mark", 1, "0"], ["mark", 2, "1"]]
    result = run(scripts, [*marks, ["leave", 0], ["mark", 3, "1"]])
    assert result["log"][0] == ["LMSInitialize", ""]
    assert sets(result, "cmi.core.lesson_status") == ["incomplete"] * 4
    assert sets(result, "cmi.core.score.raw") == ["25", "25", "50"]
    assert sets(result, "cmi.core.score.max") == ["100"] * 3
    assert sets(result, "cmi.suspend_data")[-1] == "1,0,1,"
    assert sets(result, "cmi.core.exit") == ["suspend"]
    assert result["log"][-1] == ["LMSFinish", ""]
    assert sum(entry[0] == "LMSFinish" for entry in result["log"]) == 1


def test_all_marked_completes_and_saved_marks_come_back(scripts):
    result = run(scripts, [["mark", 3, "0"], ["leave", 0]], suspend="1,1,0,")
    assert [s["mark"] for s in result["state"]] == ["1", "1", "0", "0"]
    assert sets(result, "cmi.core.score.raw") == ["50", "50"]
    assert sets(result, "cmi.core.lesson_status") == ["incomplete", "completed"]
    assert sets(result, "cmi.core.exit") == [""]


def test_a_passed_theme_is_not_taken_back(scripts):
    result = run(scripts, [["mark", 0, "0"]], status="passed")
    assert sets(result, "cmi.core.lesson_status") == []
    assert sets(result, "cmi.core.score.raw") == ["0"]


def test_theme_without_questions_is_completed_on_launch(scripts):
    result = run(scripts, [], questions=0)
    assert sets(result, "cmi.core.lesson_status") == ["completed"]
    assert not sets(result, "cmi.core.score.raw")


def test_without_an_lms_the_quiz_still_works_and_says_so(scripts):
    result = run(scripts, [["mark", 0, "1"]], api=False)
    assert result["log"] == []
    assert result["noteHidden"] is False
    assert result["board"] == "Right: 1 of 4"
