# The two commands of the README, and a few more. Each installs what it needs first.
PY ?= python3
PIP ?= $(PY) -m pip
EXTRAS ?= dev,st

.PHONY: install run test lint typecheck unit integration bench eval neo4j-stop clean-state

install:
	$(PIP) install --disable-pip-version-check -q -e ".[$(EXTRAS)]"

# Main job: start the local Neo4j, ingest the sample corpus, serve the API.
run:
	$(MAKE) install EXTRAS=dev
	sopkg up

# Lint, type-check and the whole test suite (starts its own Neo4j test instance).
test: install
	ruff check .
	mypy
	$(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit

bench: install
	$(PY) benchmarks/ingest_throughput.py sample_corpus

neo4j-stop:
	sopkg neo4j stop
