# Two commands: `make run` and `make test`. Both set up .venv on first use.
# `make soak`: the reliability soak (MM_SOAK_SECONDS, default 600), apart from `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test soak lint bench migrate clean

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

bench: $(STAMP)
	@started=; if [ -z "$$DATABASE_URL" ] && [ ! -f "$(EMBEDDED_PID)" ]; then started=1; fi; \
	status=0; for script in bench/*.py; do \
		echo "== $$script"; $(BIN)/python $$script || { status=1; break; }; \
	done; \
	if [ -n "$$started" ]; then $(STOP_EMBEDDED); fi; exit $$status

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
