# Two commands a newcomer needs: `make demo` and `make test`. Both build .venv from scratch if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint venv clean chromium eval eval-topics bench bench-embed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: here it resolves to the local CPU wheel; unpinned it pulls GBs of CUDA.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# The bundled arXiv data spans three ISO weeks: build them in order, as a weekly service would
# have, so each shows trends against the earlier ones; then the latest week, the Hugging Face
# daily page (authors, upvotes, stars). Everything goes to digests/demo/, not digests/.
DEMO := HF_HUB_OFFLINE=1 $(BIN)/digest --config examples/demo.toml
demo: $(STAMP)
	$(DEMO) ingest
	$(DEMO) build --week 2025-W23
	$(DEMO) build --week 2025-W24
	$(DEMO) build --week 2025-W25
	$(DEMO) build

# Every test. Any non-zero pytest status fails the target, 5 ("no tests ran") included: a run
# that selected nothing is never green. PYTEST_ARGS passes options through (-x, -k NAME, a path).
test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

# The developer loop: everything but the tests marked slow (kill trials, serve, end-to-end, ONNX,
# the real model), in about a minute. CI runs `make test`, which includes them.
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Topic F1, theme NMI vs KMeans, unthemed fraction and time on benchmarks/labels (see its README).
eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/compare.py

# Newcomer-style topics against arXiv categories on 7,000 abstracts, and against hand labels of
# 600 papers of a June-2025 week by two annotators, 200 of them labelled by both (issue 16;
# benchmarks/README.md). The first run embeds the abstracts (30-40 min on 2 busy cores; cached
# in benchmarks/.cache).
eval-topics: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.eval_topics --json benchmarks/topics-results.json
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.eval_venue --json benchmarks/venue-results.json
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.eval_venue --part 2 --json benchmarks/venue-results-2.json

# Speed figures (issue 8): prints a table, writes benchmarks/results.json. ~10 min on 2 cores.
bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.bench_speed

# Embedding options (torch / onnx / onnx-int8 / shorter max_seq_length): speed and quality.
bench-embed: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.bench_embed_options

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data/demo digests/demo

# Headless Chromium (Debian package) for the tests that load the HTML digest in a browser
# (screenshot; layout at 400 px). .ci/run installs it, so in CI those tests always run.
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
