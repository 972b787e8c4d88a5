"""Run the evaluation on two requests against the scripted model: the page and its reports."""

from pathlib import Path

import pytest

from coursegen.quality.model import QualityReport
from coursegen.settings import Settings
from evals.run import REQUESTS, load_requests, main, run
from evals.table import COLUMNS


def test_eval_writes_a_row_per_course_and_the_totals(settings: Settings, tmp_path: Path) -> None:
    items = load_requests(REQUESTS, None, 2, None)
    assert [i["request"]["language"] for i in items] == ["ru", "ru"]
    out = tmp_path / "quality.md"
    results = run(items, settings, out, "scripted model (smoke test)")
    assert [r.status for r in results] == ["completed", "completed"]
    for result in results:
        report = QualityReport.model_validate(result.report)
        assert (
            report.language.expected == "ru" and report.usage.model == "openai-compatible:scripted"
        )
    first = QualityReport.model_validate(results[0].report)
    assert first.shape.ok and first.shape.delivered.topics_per_theme == [3, 3, 3, 3]
    lines = out.read_text().splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 2 + 1  # header, rule, two courses, totals
    assert all(line.count("|") == len(COLUMNS) + 1 for line in table)
    assert table[2].startswith("| `ru-python-school` | technical, school | ru | 4×3 → 4×3/3/3/3 ✓")
    assert table[-1].startswith("| **2/2 completed** |")
    assert "**This run:** scripted model (smoke test)" in out.read_text()


def test_make_eval_entry_point_reads_the_settings_and_its_switches(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what `make eval EVAL_ARGS="--language en --limit 2 --shape 1x2 --label …"` runs
    monkeypatch.setenv("COURSEGEN_BASE_URL", str(settings.base_url))
    monkeypatch.setenv("COURSEGEN_MODEL", "openai:scripted")
    monkeypatch.setenv("COURSEGEN_LLM_MAX_RETRIES", "0")
    out = tmp_path / "quality.md"
    argv = ["--language", "en", "--limit", "2", "--shape", "1x2", "--out", str(out)]
    main([*argv, "--label", "scripted model, 1×2"])
    page = out.read_text()
    assert "**This run:** scripted model, 1×2" in page and "every one as 1x2" in page
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| `en-kubernetes-pro`",
        "| `en-ethics-humanities`",
    ]
    assert all(" | en | 1×2 → 1×2 ✓ | " in row for row in rows)
    assert "| **2/2 completed** |" in page
