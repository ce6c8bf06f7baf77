# The two commands of the README, and a few more. Each installs what it needs first.
PY ?= python3
PIP ?= $(PY) -m pip
EXTRAS ?= dev,st

.PHONY: install browser-deps run test lint typecheck unit integration bench eval neo4j-stop clean-state

install:
	$(PIP) install --disable-pip-version-check -q -e ".[$(EXTRAS)]"

# Main job: start the local Neo4j, ingest the sample corpus, serve the API.
run:
	$(MAKE) install EXTRAS=dev
	sopkg up

# axe-core for the accessibility tests (tests/browser/package.json), from npm, once.
browser-deps:
	@test -f tests/browser/node_modules/axe-core/axe.min.js || npm ci --prefix tests/browser --no-audit --no-fund

# Lint, type-check and the whole test suite (starts its own Neo4j test instance).
test: install browser-deps
	ruff check .
	mypy
	$(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit

bench: install
	$(PY) benchmarks/ingest_throughput.py sample_corpus

neo4j-stop:
	sopkg neo4j stop
