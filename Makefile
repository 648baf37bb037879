# Two commands: `make run` and `make test`. Both set up .venv on first use.
# `make soak`: the reliability soak (MM_SOAK_SECONDS, default 600), apart from `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test soak lint bench wrk migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(BIN)/marketmanager migrate
	$(BIN)/marketmanager up

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak -s tests/reliability $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The embedded PostgreSQL, when a benchmark had to start it, is stopped afterwards.
EMBEDDED_PID = $${MM_DATA_DIR:-var}/pgdata/postmaster.pid
STOP_EMBEDDED = $(BIN)/python -c "from marketmanager.embedded import stop_embedded; \
	from marketmanager.settings import Settings; stop_embedded(Settings.from_env().data_dir)"

# bench/api.py's load generator: Debian's wrk (apt-get as root, sudo otherwise).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
		else sudo apt-get update -qq && \
			sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; fi; }

# Each benchmark prints its ratio last; bench/api.py runs cold, then warm (--warm).
bench: $(STAMP) wrk
	@started=; if [ -z "$$DATABASE_URL" ] && [ ! -f "$(EMBEDDED_PID)" ]; then started=1; fi; \
	status=0; for run in bench/*.py "bench/api.py --warm"; do \
		echo "== $$run"; $(BIN)/python $$run || { status=1; break; }; \
	done; \
	if [ -n "$$started" ]; then $(STOP_EMBEDDED); fi; exit $$status

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
