# Ascolto: every entry point a person or CI uses. `make demo` and `make test` set up
# everything they need on a fresh machine (a virtualenv with the package, and Debian's
# prometheus package for promtool and the server used by tests).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install system-deps demo test test-fast bench models eval lint clean

install: $(STAMP)

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# promtool and a Prometheus server for the rule and scrape tests; PostgreSQL for the
# PostgreSQL warehouse tests (a throwaway cluster is started by the tests themselves).
system-deps:
	@{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's postgresql package"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "PostgreSQL is missing: run 'sudo apt-get install -y postgresql' (or set PG_DSN)"; exit 1; \
	  fi; }
	@command -v promtool >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's prometheus package (promtool + server)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
	    systemctl stop prometheus >/dev/null 2>&1 || pkill -x prometheus || true; \
	  else \
	    echo "promtool is missing: run 'sudo apt-get install -y prometheus'"; exit 1; \
	  fi; }

demo: install
	$(BIN)/ascolto demo

test: install system-deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install
	$(BIN)/python tests/benchmarks/bench_pipeline.py
	$(BIN)/python tests/benchmarks/bench_nlp.py
	$(BIN)/python -m tests.benchmarks.bench_crisis --events 100000

# Retrain every classifier head from ../shared/data (or ASCOLTO_DATA_DIR) and the domain posts;
# writes pipelines/nlp/models/<lang>/<head>.{npz,json}, the model index, and the aspect models.
models: install
	$(BIN)/ascolto nlp train
	$(BIN)/ascolto nlp train-aspects

# Macro-F1, confusion matrices and throughput of the shipped models, then aspects and mentions;
# both reports always print; exits 1 if either misses a target.
eval: install
	$(BIN)/ascolto nlp eval --check; a=$$?; $(BIN)/ascolto nlp eval-aspects --check; b=$$?; test $$a -eq 0 -a $$b -eq 0

lint: install
	$(BIN)/ruff check pipelines tests
	$(BIN)/ruff format --check pipelines tests

clean:
	rm -rf $(VENV) var build dist *.egg-info .pytest_cache
