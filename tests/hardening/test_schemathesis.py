"""Fuzz the HTTP API from its own OpenAPI schema with Schemathesis: no 5xx, answers as declared.

The app runs as a `coursegen serve` process (real HTTP) with an API key in use, so every accepted
case is also replayed without a key and with a wrong one (`ignored_auth`). Generation is
derandomized: the same cases run every time. Excluded: the SSE stream (it never ends on its own)
and LangServe's run routes (`invoke`, `batch`, `stream*`, `token_feedback`, the `/c/{config_hash}/`
copies), which are LangServe's own contract; their schema endpoints are in. Generated bodies of
every JSON operation, LangServe runs included, are also sent with NaN, ±Infinity and 1e400 in their
numbers and a lone surrogate in their strings (what JSON Schema cannot generate).
"""

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.hypothesis.builder import generate_coverage_cases
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coursegen.settings import Settings
from tests.support.keys import make_key
from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM
from tests.support.server_process import ServerProcess

# Schemathesis's own strategies call `random`; the cases are still derandomized by Hypothesis.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
FIXTURE_COURSE = "Schema fixture course"
INCLUDED = re.compile(
    r"^/healthz$|^/courses(/|$)|^/sources(/|$)|^/course/(input|output|config)_schema$"
    r"|^/chains/\w+/(input|output|config)_schema$"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def security_headers(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every answer, errors included, carries the guard's security headers."""
    for name, value in SECURITY_HEADERS.items():
        got = response.headers.get(name)
        assert got == [value], f"{name}: {got!r} on {case.operation.label}"
    return None


CONFORMANCE = [
    not_a_server_error,
    security_headers,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation. LangServe's schema endpoints take no input but the key, so a few
# cases say all there is to say about them. The cases are derandomized, so every run sends
# the same ones: the default run keeps to a depth that fits the suite's time, and
# `make fuzz` (COURSEGEN_FUZZ_DEPTH=4) sends four times as many, different ones included.
FUZZ_DEPTH = float(os.environ.get("COURSEGEN_FUZZ_DEPTH", "1"))
JOBS_API_EXAMPLES = {
    GenerationMode.POSITIVE: round(50 * FUZZ_DEPTH),
    GenerationMode.NEGATIVE: round(30 * FUZZ_DEPTH),
}
SCHEMA_ENDPOINT_EXAMPLES = 4
MIN_CASES = {
    GenerationMode.POSITIVE: round(450 * FUZZ_DEPTH),
    GenerationMode.NEGATIVE: round(150 * FUZZ_DEPTH),
}
MIN_BOUNDARY_CASES = 300  # 1,500 cases in all


def script(call: Call) -> Reply:
    """The fixture course is written; every fuzzed course fails fast (a 400 is not retried)."""
    return None if call.data.get("course_name") == FIXTURE_COURSE else Fault("http", status=400)


@dataclass
class Api:
    url: str
    secret: str
    job_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@dataclass
class Run:
    """Cases per operation and the failures found (collected, so one run reports them all)."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    nothing_to_negate: list[str] = field(default_factory=list)

    def reuses_key(self, case: schemathesis.Case) -> bool:
        """Whether the case sends an Idempotency-Key already sent with another body (rightly
        a 422, `idempotency_key_reused`, however valid the body)."""
        headers = {k.lower(): v for k, v in (case.headers or {}).items()}
        key = headers.get("idempotency-key")
        if key is None or case.operation.path != "/courses":
            return False
        return IDEMPOTENCY_BODIES.setdefault(key.strip(), case.body) != case.body

    def report(self) -> str:
        return "\n\n".join(f"{label}:\n{text}" for label, text in self.failures.items())


def _report_of_another_format(case: schemathesis.Case) -> bool:
    """`report=true` is for the HTML export only, a rule across two parameters that OpenAPI
    cannot state: with another format it is rightly a 422."""
    query = case.query or {}
    return query.get("report") in (True, "true") and query.get("format") != "html"


# Per module, not per run: every test of the module talks to the one server (the `api`
# fixture), which remembers each Idempotency-Key whichever test sent it first.
IDEMPOTENCY_BODIES: dict[str, Any] = {}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    # A server process of its own, not a thread of this one: CPython 3.11 keeps the `ast`
    # module's recursion depth in shared state (gh-106905), so Hypothesis reading its lambdas'
    # source while the server formats a failed job's traceback can raise a SystemError.
    with ScriptedLLM(script) as llm:
        data_dir = tmp_path_factory.mktemp("schemathesis")
        env = {
            "COURSEGEN_MODEL": "openai:scripted",
            "COURSEGEN_BASE_URL": llm.base_url,
            "COURSEGEN_DATA_DIR": str(data_dir),
            "COURSEGEN_LLM_MAX_RETRIES": "0",
            "COURSEGEN_REQUESTS_PER_MINUTE": "1000000",  # the fuzzer is one very busy client
            "COURSEGEN_MAX_JOBS_PER_OWNER": "1000000",
        }
        settings = Settings(base_url=llm.base_url, model="openai:scripted", data_dir=data_dir)
        with ThreadPoolExecutor(1) as pool:  # outside the test's event loop
            secret = pool.submit(make_key, settings, "fuzzer").result()
        headers = {"Authorization": f"Bearer {secret}"}
        server = ServerProcess(env, data_dir / "logs").start()
        try:
            body = {"course_name": FIXTURE_COURSE, "options": {"themes": 1, "topics_per_theme": 2}}
            created = httpx.post(f"{server.url}/courses", json=body, headers=headers, timeout=30)
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
            deadline = time.monotonic() + 30
            job_url = f"{server.url}/courses/{job_id}"
            while httpx.get(job_url, headers=headers).json()["status"] != "completed":
                assert time.monotonic() < deadline, "the fixture course did not complete"
                time.sleep(0.05)
            yield Api(server.url, secret, job_id)
        finally:
            server.terminate()


def _operations(api: Api, mode: GenerationMode) -> list[schemathesis.APIOperation]:
    if mode is GenerationMode.POSITIVE:
        # The key goes on every case; `ignored_auth` then replays accepted ones without it.
        auth = {"auth": {"openapi": {"HTTPBearer": {"bearer": api.secret}}}}
        config = schemathesis.Config.from_dict(auth)
        schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", config=config)
    else:
        # Negative cases would mostly just drop the key (a 401 before anything else is
        # looked at): take the key out of the schema and send it on every case instead, so
        # the bodies, queries and headers are what goes wrong.
        raw = httpx.get(f"{api.url}/openapi.json").json()
        for operations in raw["paths"].values():
            for operation in operations.values():
                operation.pop("security", None)
        schema = schemathesis.openapi.from_dict(raw)
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    chosen = [
        op for op in operations if INCLUDED.search(op.path) and not op.path.endswith("/events")
    ]
    assert len(chosen) >= 20, [op.label for op in chosen]
    return chosen


def _fuzz(api: Api, mode: GenerationMode, checks: list[schemathesis.CheckFunction]) -> Run:
    run = Run()
    for operation in _operations(api, mode):
        _fuzz_operation(api, operation, mode, checks, run)
    assert sum(run.cases.values()) >= MIN_CASES[mode], run.cases
    return run


def _fuzz_operation(
    api: Api,
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    checks: list[schemathesis.CheckFunction],
    run: Run,
) -> None:
    label = operation.label
    keep_job = operation.method.upper() != "DELETE"
    jobs_api = operation.path.startswith("/courses")
    examples = JOBS_API_EXAMPLES[mode] if jobs_api else SCHEMA_ENDPOINT_EXAMPLES
    fixed: dict[str, Any] = {}
    if mode is GenerationMode.NEGATIVE and "{job_id}" in operation.path:
        # A path segment is any string, so there is nothing to negate in it: name a job (the
        # fixture's, but never for DELETE) and let the body, query and headers go wrong.
        fixed["path_parameters"] = _path(api, operation, keep_job)

    @hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed), real=st.booleans())
    def check(case: schemathesis.Case, real: bool) -> None:
        if mode is GenerationMode.POSITIVE and real and "{job_id}" in operation.path:
            # Half the cases on job routes name the fixture job, so its 200/202/409 answers
            # are checked too, not only the 404 of a made-up id (DELETE would remove it).
            case.path_parameters = {
                **(case.path_parameters or {}),
                "job_id": api.job_id if keep_job else "no-such-job",
            }
        chosen = list(checks)
        if case.query and "cursor" in case.query:
            # An opaque cursor has no schema: a made-up one is rightly a 422, and an empty
            # one (what a "non-string" becomes in a URL) means the first page.
            chosen = [
                c for c in chosen if c not in (positive_data_acceptance, negative_data_rejection)
            ]
        if operation.path == "/sources" or (
            isinstance(case.body, dict) and case.body.get("sources")
        ):
            # Made-up source ids are rightly a 422 (no such source of the caller's), and so
            # are random bytes as a file: the schema cannot say what a readable PDF is.
            chosen = [c for c in chosen if c is not positive_data_acceptance]
        if _has_webhook_url(case):
            # A webhook URL is checked against DNS and the signing settings (the fixture has
            # no secret): a made-up one is rightly a 422.
            chosen = [c for c in chosen if c is not positive_data_acceptance]
        if _report_of_another_format(case):
            chosen = [c for c in chosen if c is not positive_data_acceptance]
        if case.query and any(name not in operation.query for name in case.query):
            # Unknown query parameters are ignored, as almost every HTTP API does.
            chosen = [c for c in chosen if c is not negative_data_rejection]
        if run.reuses_key(case):
            chosen = [c for c in chosen if c is not positive_data_acceptance]
        headers = {} if mode is GenerationMode.POSITIVE else api.headers
        _call(api, case, chosen, headers, run)

    try:
        check()
    except Unsatisfiable:  # nothing to make invalid (e.g. GET /healthz has no inputs)
        assert mode is GenerationMode.NEGATIVE, label
        run.nothing_to_negate.append(label)


def _path(api: Api, operation: schemathesis.APIOperation, keep_job: bool) -> dict[str, str]:
    """Path parameters naming the fixture job (and no delivery of it)."""
    path = {"job_id": api.job_id if keep_job else "no-such-job"}
    if "{delivery_id}" in operation.path:
        path["delivery_id"] = "msg_none"
    return path


def _has_webhook_url(case: schemathesis.Case) -> bool:
    return isinstance(case.body, dict) and case.body.get("webhook_url") is not None


def _call(
    api: Api,
    case: schemathesis.Case,
    checks: list[schemathesis.CheckFunction],
    headers: dict[str, str],
    run: Run,
) -> None:
    label = case.operation.label
    run.cases[label] += 1
    try:
        response = case.call_and_validate(
            base_url=api.url, headers=headers, checks=checks, timeout=30
        )
        run.statuses[(label, response.status_code)] += 1
    except (Exception, BaseExceptionGroup) as exc:  # collect, do not shrink
        run.failures.setdefault(label, str(exc)[:3000])


def test_positive_cases_get_declared_answers(api: Api) -> None:
    """Schema-valid requests: accepted (or a declared 404/409), answered as the schema says."""
    checks = [*CONFORMANCE, positive_data_acceptance, ignored_auth]
    run = _fuzz(api, GenerationMode.POSITIVE, checks)
    if run.failures:
        pytest.fail(run.report(), pytrace=False)
    # The fixture job was reached: its routes answered with success, not only 404s.
    for label in ("GET /courses/{job_id}", "GET /courses/{job_id}/export"):
        assert run.statuses[(label, 200)] > 0, run.statuses
    assert run.statuses[("POST /courses", 202)] > 0 and run.statuses[("GET /courses", 200)] > 0


def test_negative_cases_are_rejected_without_server_errors(api: Api) -> None:
    """Schema-invalid requests: a declared 4xx, never a 5xx or an accepted one."""
    checks = [*CONFORMANCE, negative_data_rejection]
    run = _fuzz(api, GenerationMode.NEGATIVE, checks)
    if run.failures:
        pytest.fail(run.report(), pytrace=False)
    for label in ("POST /courses", "POST /courses/estimate", "GET /courses"):
        assert run.statuses[(label, 422)] > 0, run.statuses
    # The operations without a body, a query or a header of their own have nothing to break.
    negated = set(run.cases)
    assert negated == {
        "POST /courses",
        "POST /courses/estimate",
        "GET /courses",
        "POST /courses/{job_id}/review",
        "POST /courses/{job_id}/regenerate",
        "GET /courses/{job_id}/export",
        "POST /sources",
    }, run.nothing_to_negate


def test_the_schema_declares_every_error_the_routes_answer(api: Api) -> None:
    """The statuses fuzzing does not reach (402, 413, 429; 401 on run routes) are declared too."""
    paths = httpx.get(f"{api.url}/openapi.json").json()["paths"]
    expected = {
        ("post", "/courses"): {"202", "400", "401", "403", "413", "415", "422", "429", "503"},
        ("post", "/courses/estimate"): {"200", "400", "401", "403", "413", "415", "422"},
        ("get", "/courses"): {"200", "401", "422"},
        ("get", "/courses/{job_id}"): {"200", "401", "404", "422"},
        ("get", "/courses/{job_id}/events"): {"200", "401", "404", "422"},
        ("post", "/courses/{job_id}/cancel"): {"200", "401", "403", "404", "422"},
        ("post", "/courses/{job_id}/review"): {
            *("200", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503")
        },
        ("post", "/courses/{job_id}/regenerate"): {
            *("202", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503")
        },
        ("get", "/courses/{job_id}/export"): {"200", "401", "404", "409", "422"},
        ("post", "/sources"): {
            *("201", "400", "401", "403", "413", "415", "422", "429", "502", "503")
        },
        ("get", "/sources"): {"200", "401"},
        ("get", "/sources/{source_id}"): {"200", "401", "404", "422"},
        ("delete", "/sources/{source_id}"): {"204", "401", "403", "404", "422", "429", "503"},
        ("delete", "/courses/{job_id}"): {"204", "401", "403", "404", "422"},
        ("get", "/courses/{job_id}/webhooks"): {"200", "401", "404", "422"},
        ("post", "/courses/{job_id}/webhooks/{delivery_id}/retry"): {
            *("202", "401", "403", "404", "409", "422", "429", "503")
        },
        ("get", "/course/input_schema"): {"200", "401"},
        ("post", "/course/invoke"): {"200", "401", "402", "403", "413", "415", "422", "429", "503"},
        ("post", "/course/batch"): {"200", "401", "402", "403", "413", "415", "422", "429", "503"},
        ("post", "/course/stream"): {"200", "401", "403", "413", "415", "422", "429", "503"},
        ("post", "/chains/outline/stream"): {
            *("200", "401", "403", "413", "415", "422", "429", "503")
        },
    }
    for (method, path), codes in expected.items():
        assert set(paths[path][method]["responses"]) == codes, (method, path)


# JSON that Python's parser takes but JSON forbids or no encoder can write back: each number
# of a generated body becomes one of these (in turn), or each string gets a lone surrogate.
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400")
LONE_SURROGATE = "\ud800"
BODY_OPERATIONS = re.compile(
    r"^/courses(/|$)|^/course/(invoke|batch|stream|stream_events)$|^/chains/\w+/invoke$"
)
BODIES_PER_OPERATION = 5


def _mutations(body: Any) -> list[bytes]:
    """The body with every number made non-finite (one token per variant), and with a lone
    surrogate in every string; variants that change nothing are left out."""
    numbers, strings = [], []

    def walk(value: Any, token: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, token) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, token) for v in value]
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            numbers.append(token)
            return f"<<{token}>>"
        if isinstance(value, str):
            strings.append(value)
            return value + LONE_SURROGATE
        return value

    out = []
    for token in NON_FINITE:
        numbers.clear()
        text = json.dumps(walk(body, token))  # ensure_ascii: the surrogate as \ud800
        if numbers:
            out.append(text.replace(f'"<<{token}>>"', token).encode())
    if strings:
        out.append(json.dumps(walk(body, "0")).replace('"<<0>>"', "0").encode())
    return out


# A review body may be all booleans; this one has strings to break in any case.
SEED_BODIES = {
    "/courses/{job_id}/review": {"outline": {"themes": [{"title": "t", "description": "d"}]}}
}


def _generated_bodies(api: Api, operation: schemathesis.APIOperation) -> list[tuple[str, Any]]:
    """(path, body) of a few schema-valid cases of an operation, plus its seed body."""
    fixed: dict[str, Any] = {}
    if "{job_id}" in operation.path:
        fixed["path_parameters"] = {"job_id": api.job_id}
    bodies: list[tuple[str, Any]] = []

    @hypothesis_settings(
        max_examples=BODIES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE, **fixed))
    def collect(case: schemathesis.Case) -> None:
        bodies.append((case.formatted_path, case.body))

    collect()
    if (seed := SEED_BODIES.get(operation.path)) is not None:
        bodies.append((operation.path.replace("{job_id}", api.job_id), seed))
    return bodies


def test_non_finite_numbers_and_lone_surrogates_get_4xx(api: Api) -> None:
    """NaN, ±Infinity, 1e400 in any number and "\ud800" in any string of generated bodies, on
    every JSON operation (LangServe runs included): a 4xx with a JSON body, never a 5xx."""
    raw = httpx.get(f"{api.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [
        op
        for r in schema.get_all_operations()
        if isinstance(r, Ok)
        and BODY_OPERATIONS.search((op := r.ok()).path)
        and op.method.upper() == "POST"
        and op.body
    ]
    labels = {op.label for op in operations}
    assert {"POST /courses", "POST /course/invoke", "POST /course/batch"} <= labels, labels
    failures: list[str] = []
    sent: Counter[str] = Counter()
    for operation in operations:
        for path, body in _generated_bodies(api, operation):
            for content in _mutations(body):
                sent[operation.label] += 1
                headers = {**api.headers, "Content-Type": "application/json"}
                answer = httpx.post(
                    f"{api.url}{path}", content=content, headers=headers, timeout=30
                )
                if not 400 <= answer.status_code < 500 or not isinstance(answer.json(), dict):
                    failures.append(f"{operation.label} {content[:200]!r}: {answer.status_code}")
    assert not failures, "\n".join(failures[:20])
    assert all(sent[label] for label in labels), sent


def test_boundary_cases_get_declared_answers(api: Api) -> None:
    """Schemathesis's coverage phase: each field at and just past its limits, each enum value,
    missing and mistyped fields — valid ones accepted, invalid ones refused with a 4xx."""
    run = Run()
    for operation in _operations(api, GenerationMode.NEGATIVE):
        if not operation.path.startswith("/courses"):
            continue
        fixed: dict[str, Any] = {}
        if "{job_id}" in operation.path:
            keep_job = operation.method.upper() != "DELETE"
            fixed["path_parameters"] = _path(api, operation, keep_job)
        cases = generate_coverage_cases(
            operation=operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            auth_storage=None,
            as_strategy_kwargs=fixed,
            generate_duplicate_query_parameters=False,
            unexpected_methods=set(),
            generation_config=operation.schema.config.generation_for(
                operation=operation, phase="coverage"
            ),
        )
        for case in cases:
            assert case.meta is not None
            positive = case.meta.generation.mode is GenerationMode.POSITIVE
            extra = positive_data_acceptance if positive else negative_data_rejection
            checks = [*CONFORMANCE, extra]
            if case.query and "cursor" in case.query:
                checks = CONFORMANCE  # an opaque cursor: see above
            if run.reuses_key(case) or _report_of_another_format(case):
                checks = [c for c in checks if c is not positive_data_acceptance]
            elif positive and isinstance(case.body, dict) and case.body.get("sources"):
                checks = CONFORMANCE  # made-up source ids: see above
            elif positive and _has_webhook_url(case):
                checks = CONFORMANCE  # a webhook URL: see above
            _call(api, case, checks, api.headers, run)
    if run.failures:
        pytest.fail(run.report(), pytrace=False)
    assert sum(run.cases.values()) >= MIN_BOUNDARY_CASES, run.cases
    assert run.statuses[("POST /courses", 202)] > 0 and run.statuses[("POST /courses", 422)] > 0
