# graphdetect — `make run` sets up and runs detection on the sample; `make test` sets up and tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLE ?= datasets/sample
RUN    ?= runs/sample

.PHONY: setup run test lint bench clean translations

$(BIN)/graphdetect: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

setup: $(BIN)/graphdetect

run: setup
	$(BIN)/graphdetect detect $(SAMPLE) --out $(RUN)

test: setup
	$(BIN)/ruff check graphdetect datasets tests benchmarks
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/load_graph.py

clean:
	rm -rf $(VENV) runs .pytest_cache

# Re-extract the UI's strings and compile the catalogs after editing templates or .po files.
translations: setup
	$(BIN)/pybabel extract -q -F web/babel.cfg -k _l -o web/translations/messages.pot .
	$(BIN)/pybabel update -q -i web/translations/messages.pot -d web/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -q -d web/translations
