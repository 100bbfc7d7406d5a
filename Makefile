# Folio — developer commands. `make help` lists them.
# Everything runs from the repository root with the virtualenv in .venv.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.folio-installed

# Installable parts (editable), in dependency order.
PARTS := shared services/api services/worker-docs services/worker-ocr services/scheduler clients/cli tools/devstack clients/python
PYPROJECTS := $(addsuffix /pyproject.toml,$(PARTS))
# Example job kinds (their own packages), installed beside Folio: make dev
# runs a worker for the kinds they offer (the folio.jobs entry points).
EXAMPLES := examples/audio-analysis
# Source trees checked by mypy (those that hold Python files yet).
TYPED_SRC := $(foreach part,$(PARTS),$(if $(shell find $(part)/src -name '*.py' -print -quit 2>/dev/null),$(part)/src))
# Packages the lock file leaves out: the embedding stack (torch & friends) is
# pinned where it is installed, per platform (CPU/GPU wheels differ);
# types-redis is stale for redis-py >= 5, which ships its own types.
LOCK_EXCLUDE := ^(torch|torchvision|torchaudio|triton|nvidia-[a-z0-9-]+|types-redis)==
# The embedding stack's PyTorch (CPU build), installed before everything else.
TORCH_VERSION ?= 2.13.0
# Extra pytest arguments: make test PYTEST_ARGS="-k search -x"
PYTEST_ARGS ?=

.PHONY: help
help: ## Show this help
	@echo "Folio — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: venv
venv: $(STAMP) ## Create .venv and install Folio (editable) + dev tools; reruns when a pyproject or the lock changes

$(STAMP): $(PYPROJECTS) $(addsuffix /pyproject.toml,$(EXAMPLES)) requirements/constraints.txt requirements/dev.txt
	@# tesserocr compiles against Tesseract's headers: install the dev set's
	@# system packages first (as root), or say the one command to run.
	@scripts/install-system-deps.sh dev
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# CPU PyTorch first, by exact version: any other spec pulls GPU wheels.
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt \
		--no-binary tesserocr $(addprefix -e ,$(PARTS) $(EXAMPLES)) -r requirements/dev.txt
	@touch $@

.PHONY: system-deps
system-deps: ## Install every system package (dev, test and bench sets) with apt-get when missing (root)
	@scripts/install-system-deps.sh all

.PHONY: check-system-deps
check-system-deps: ## Check every system package; say the one command to run when one is missing
	@scripts/install-system-deps.sh --check all

.PHONY: test-system-deps
test-system-deps: ## The test set's system packages (dev + prometheus): installed as root, else the command to run
	@scripts/install-system-deps.sh test

.PHONY: deploy-tools
deploy-tools: venv ## Install the tools that check docker/ and k8s/ offline (kubectl, kubernetes-validate, hadolint, compose)
	@scripts/install-deploy-tools.sh

.PHONY: dev
dev: venv ## Run the embedded stack: Redis, PostgreSQL, migrations, demo tenant, api + workers + scheduler
	@scripts/install-system-deps.sh dev
	$(BIN)/python -m folio_devstack dev

# The long fault runs (marker `long`, minutes each) are left to
# test-reliability; a short case of each kind stays in `make test`. The
# accuracy measurements over whole corpora (marker `accuracy`: the OCR field
# corpus, the relevance sets) are left to test-accuracy, to keep CI in time.
.PHONY: test
test: test-system-deps venv deploy-tools lint typecheck ## Lint, type-check, then run every test against real servers (not the long fault runs nor the corpus accuracy runs)
	$(BIN)/python -m folio_devstack test -- -m "not long and not accuracy" $(PYTEST_ARGS)

.PHONY: test-only
test-only: venv deploy-tools ## Run the tests against real servers, without lint and type checks
	$(BIN)/python -m folio_devstack test -- -m "not long and not accuracy" $(PYTEST_ARGS)

.PHONY: test-accuracy
test-accuracy: test-system-deps venv ## The accuracy runs over whole corpora: OCR field corpus, relevance sets (about 15 min)
	$(BIN)/python -m folio_devstack test -- -m accuracy $(PYTEST_ARGS)

.PHONY: test-reliability
test-reliability: test-system-deps venv ## Every test docs/reliability.md lists, the long fault runs included (about 30 min)
	$(BIN)/python -m folio_devstack test -- $$($(BIN)/python scripts/reliability_tests.py) $(PYTEST_ARGS)

.PHONY: lint
lint: venv ## ruff check + ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: format
format: venv ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: typecheck
typecheck: venv ## mypy (strict, config in pyproject.toml) on shared, the services, tools and benchmarks
	$(BIN)/mypy $(TYPED_SRC)
	@# the benchmarks import their helpers (and noop/'s worker modules) as top-level modules
	MYPYPATH=bench:bench/noop:tests/relevance $(BIN)/mypy bench

.PHONY: bench
bench: venv ## Run every benchmark of the design at full size: one table of every target, met or not
	@scripts/install-system-deps.sh bench
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -r requirements/bench.txt
	$(BIN)/python bench/quick.py --full

.PHONY: bench-quick
bench-quick: venv ## Quick versions of the ratio benchmarks (under 5 min): one table, target by target, met or not
	@scripts/install-system-deps.sh bench
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -r requirements/bench.txt
	$(BIN)/python bench/quick.py

.PHONY: bench-soak
bench-soak: venv ## One worker-docs over 1,000 documents (about 30 minutes): its memory growth after warm-up
	@scripts/install-system-deps.sh bench
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -r requirements/bench.txt
	$(BIN)/python bench/quick.py --soak

.PHONY: lock
lock: ## Regenerate requirements/constraints.txt from the current .venv
	@{ echo "# Generated by \`make lock\` from .venv (pip freeze --exclude-editable)."; \
	   echo "# Used as pip constraints by \`make venv\`; torch & friends are pinned elsewhere."; \
	   $(BIN)/python -m pip freeze --exclude-editable | grep -v -i -E '$(LOCK_EXCLUDE)'; \
	 } > requirements/constraints.txt.tmp
	@mv requirements/constraints.txt.tmp requirements/constraints.txt
	@echo "requirements/constraints.txt: $$(grep -c '==' requirements/constraints.txt) pins"

.PHONY: clean
clean: ## Remove caches and build artefacts (keeps .venv and the dev data in .folio)
	rm -rf .mypy_cache .ruff_cache .pytest_cache build dist
	find . -path ./.venv -prune -o -path ./.folio -prune -o \
		\( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 | xargs -0 rm -rf

.PHONY: dev-reset
dev-reset: ## Delete the dev stack's data (.folio: databases, queues, files, demo key)
	rm -rf .folio
