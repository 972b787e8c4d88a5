# Two commands on a fresh machine: `make run` (serve on the embedded defaults) and `make test`.
UV ?= uv
# The sandbox model needs no extra: skip building llama-cpp-python (keep it if installed).
SYNC_EXTRAS ?= $(if $(filter sandbox,$(COURSEGEN_MODEL)),--inexact,--all-extras)

.PHONY: install run test test-fast fuzz lint bench docs eval

install:
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet "uv>=0.13"
	$(UV) sync --locked $(SYNC_EXTRAS)
	@# The project's own modules too (uv compiles what it installs, not an editable source).
	$(UV) run --no-sync python -m compileall -q coursegen tests bench fakes

run: install
	$(UV) run coursegen serve

# pytest-xdist: 4 workers on 2 cores, since most tests wait on processes, sockets or timers;
# a file's tests stay on one worker (they share its module fixtures). TEST_WORKERS=0: serial.
TEST_WORKERS ?= 4
PARALLEL = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
test: install
	$(UV) run pytest $(PARALLEL)

# The inner loop: everything but the browser, `langgraph dev`, the embedded model and the tests
# that start processes of their own (markers declared in pyproject.toml). PostgreSQL and Redis
# stay in: every store test runs on both backends.
FAST_MARKERS ?= not browser and not langgraph_dev and not local_model and not processes
test-fast: install
	$(UV) run pytest $(PARALLEL) -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

# The API fuzzer four times as deep as in `make test` (up to 4 times the cases; about a minute).
fuzz: install
	COURSEGEN_FUZZ_DEPTH=4 $(UV) run pytest tests/hardening/test_schemathesis.py

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy coursegen

docs: install
	$(UV) run python -m coursegen.prompts.catalogue

bench: install
	$(UV) run --group bench python -m bench.run

# Generate evals/requests.jsonl with the configured model (COURSEGEN_*), write docs/quality.md;
# e.g. make eval EVAL_ARGS="--language en --limit 4 --shape 1x2 --label '…'"
eval: install
	$(UV) run python -m evals.run $(EVAL_ARGS)
