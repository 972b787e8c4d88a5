"""Generate the evaluation requests with the configured model; write docs/quality.md.

uv run python -m evals.run                    # all 12 requests, COURSEGEN_* model
uv run python -m evals.run --language en --limit 4 --shape 1x2 --label "…"
"""

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coursegen.client import CourseClient
from coursegen.server.embedded import EmbeddedServer
from coursegen.settings import Settings
from evals.table import Result, markdown

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = ROOT / "evals" / "requests.jsonl"
OUTPUT = ROOT / "docs" / "quality.md"
INTRO = """# Course quality: the evaluation set

`make eval` generates each request of `evals/requests.jsonl` (12 real course requests in
Russian, English, German and Spanish: technical, humanities, school and professional, with and
without theme/topic counts) with the configured model, reads each course's quality report
(`GET /courses/{{id}}/report`, see docs/api.md) and writes this page. Nothing here is judged by
an LLM: the figures are the report's.

**This run:** {label}. Model: `{model}`; {count} requests{shape}, run {parallel} at a time (so
a job's *s* includes waiting for the others); {wall:.0f} s in all; {date}.

Columns: *shape* — themes×topics asked → delivered, ✓ when exact (or within 4–8 × 3–6 when
unset) with every lesson polished; *in language* — share of the text (by letters) that lingua
detects in the course language; *overlap max* / *pairs ≥ 0.8* — TF-IDF cosine similarity of the
lessons; *uncovered* — requirement items no topic covers; *polish easier* — share of lessons whose
Flesch Reading Ease rose with polishing (de, en, es, fr, hu, it, nl, ru); *dropped* — key terms
and numbers of the drafts the polished text lost; *self-check* — repeated questions / empty
answers; *words* — per lesson; *cost* — from the price table (– when the model is not in it);
*s* — from the job's creation to its end.
"""


def load_requests(
    path: Path, language: str | None, limit: int | None, shape: tuple[int, int] | None
) -> list[dict[str, Any]]:
    """The requests to run: filtered by language, the first `limit`, counts overridden."""
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if language:
        items = [i for i in items if i["request"].get("language") == language]
    items = items[:limit]
    if shape is not None:
        for item in items:
            options = item["request"].setdefault("options", {})
            options["themes"], options["topics_per_theme"] = shape
    return items


def generate(client: CourseClient, items: list[dict[str, Any]]) -> list[Result]:
    """Create every job at once (the server runs as many as it may), then wait for each."""
    jobs = [(item, client.create(item["request"])["id"]) for item in items]
    results = []
    for item, job in jobs:
        snapshot = client.wait(job)
        report = client.report(job) if snapshot["status"] == "completed" else None
        seconds = snapshot["updated_at"] - snapshot["created_at"]
        language = item["request"].get("language") or "auto"
        results.append(
            Result(item["id"], item["kind"], language, snapshot["status"], seconds, report)
        )
        print(f"{item['id']}: {snapshot['status']} in {seconds:.0f} s", flush=True)
    return results


def run(
    items: list[dict[str, Any]], settings: Settings, out: Path, label: str, shape: str = ""
) -> list[Result]:
    """Generate on an in-process service and write the page; return the results."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="coursegen-eval-") as data:
        server = EmbeddedServer(settings=settings.model_copy(update={"data_dir": Path(data)}))
        server.start()
        try:
            with CourseClient(server.url, timeout=60, stream_timeout=600) as client:
                results = generate(client, items)
        finally:
            server.stop()
    model = next((r.report["usage"]["model"] for r in results if r.report), settings.model)
    intro = INTRO.format(
        label=label,
        model=model or "default",
        count=len(items),
        shape=f", every one as {shape}" if shape else "",
        parallel=settings.max_running_jobs,
        wall=time.monotonic() - started,
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
    )
    out.write_text(markdown(results, intro))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=Path, default=REQUESTS)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    parser.add_argument("--language", help="Only the requests in this language.")
    parser.add_argument("--limit", type=int, help="Only the first N requests.")
    parser.add_argument("--shape", help="Override every request's counts, e.g. 1x2.")
    parser.add_argument("--label", default="the configured model on the whole set")
    args = parser.parse_args(argv)
    shape = tuple(int(n) for n in args.shape.lower().split("x")) if args.shape else None
    items = load_requests(args.requests, args.language, args.limit, shape)  # type: ignore[arg-type]
    run(items, Settings(), args.out, args.label, args.shape or "")


if __name__ == "__main__":
    main()
