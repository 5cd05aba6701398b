# make demo: set up .venv and run netwhy on the bundled examples.
# make test: set up .venv with the dev tools and run ruff, mypy and pytest.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	@for f in examples/*.yaml; do \
		echo "=== netwhy why $$f"; \
		$(BIN)/netwhy why "$$f"; rc=$$?; \
		if [ $$rc -gt 1 ]; then exit $$rc; fi; \
		echo; \
	done
	@echo '=== netwhy ask 虚拟机桥接模式无法访问局域网 --answers examples/ask/bridged-answers.yaml'
	@$(BIN)/netwhy ask 虚拟机桥接模式无法访问局域网 --answers examples/ask/bridged-answers.yaml \
		--format text; rc=$$?; if [ $$rc -gt 1 ]; then exit $$rc; fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check diagnose tests benchmarks
	$(BIN)/ruff format --check diagnose tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy diagnose benchmarks

pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
