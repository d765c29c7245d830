# Two commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false
PORT ?= 8501

.PHONY: install run index ui chat test test-server test-fast bench browser clean

# torch first: pip then takes the CPU wheel on disk instead of a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check torch==2.13.0
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev,llm]'
	@touch $(STAMP)

install: $(STAMP)

index: install
	$(VENV)/bin/guideline ingest --if-stale

run: index
	$(VENV)/bin/guideline ui --port $(PORT)

chat: index
	$(VENV)/bin/guideline chat

# Debian chromium for the browser test (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser test..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

SERVER_TESTS := tests/test_retrieval_real.py tests/test_langchain_retriever.py tests/test_eval_gate.py tests/test_compose.py

test: install browser
	$(PY) -m pytest -q -p no:cacheprovider tests
	$(MAKE) --no-print-directory test-server

# The integration tests again, with the index on a real `chroma run` server on 127.0.0.1.
test-server: install
	@set -e; dir=$$(mktemp -d); port=$$($(PY) -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	$(VENV)/bin/chroma run --path $$dir --host 127.0.0.1 --port $$port >$$dir.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$dir $$dir.log' EXIT; \
	$(PY) tests/wait_http.py http://127.0.0.1:$$port/api/v2/heartbeat 60; \
	echo "Integration tests against chroma run on 127.0.0.1:$$port"; \
	GUIDELINE_TEST_CHROMA_URL=http://127.0.0.1:$$port $(PY) -m pytest -q -p no:cacheprovider -m integration $(SERVER_TESTS)

test-fast: install
	$(PY) -m pytest -q -m "not integration and not browser and not server and not slow" tests

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf data .pytest_cache
