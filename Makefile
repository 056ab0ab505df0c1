# graphdetect — `make run` sets up and runs detection on the sample; `make test` sets up and tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SAMPLE ?= datasets/sample
RUN    ?= runs/sample
DB     ?= runs/review.sqlite
PORT   ?= 5000
# The sample's demo account. For the sample data only: real bureaus add their own users.
DEMO_USER     ?= demo
DEMO_PASSWORD ?= graphdetect-sample

.PHONY: setup run-deps system-deps run test lint bench clean translations

$(BIN)/graphdetect: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test,spark]'
	touch $@

setup: $(BIN)/graphdetect

run: setup run-deps
	$(BIN)/graphdetect detect $(SAMPLE) --out $(RUN)
	@test -f $(DB) || GRAPHDETECT_PASSWORD=$(DEMO_PASSWORD) $(BIN)/graphdetect users add $(DEMO_USER) --role admin --db $(DB)
	@echo "Review UI: log in as $(DEMO_USER) / $(DEMO_PASSWORD) (demo account of the sample)"
	$(BIN)/graphdetect serve $(RUN) --db $(DB) --port $(PORT)

# Debian packages, installed with apt-get when missing and run as root (as CI does); otherwise
# the target says what to install and stops. run-deps: the TrueType CJK font `graphdetect
# export` embeds in its PDFs (fonts-wqy-microhei). system-deps adds what the tests need: a
# browser for the page tests, Noto CJK for their screenshots, pdftotext for the PDF tests,
# and Java 17 for the Spark engine (`detect --engine spark`; its tests run on local[2]).
APT_INSTALL = if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "Please install:$$missing  (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

run-deps:
	@missing=""; \
	fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei" || missing="$$missing fonts-wqy-microhei"; \
	$(APT_INSTALL)

system-deps: run-deps
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	{ [ -n "$$JAVA_HOME" ] && [ -x "$$JAVA_HOME/bin/java" ]; } || command -v java >/dev/null 2>&1 \
	  || missing="$$missing openjdk-17-jre-headless"; \
	$(APT_INSTALL)

test: setup system-deps
	$(BIN)/ruff check graphdetect datasets tests benchmarks
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/load_graph.py
	$(BIN)/python benchmarks/detect.py
	$(BIN)/python benchmarks/export.py

clean:
	rm -rf $(VENV) runs .pytest_cache

# Re-extract the UI's strings and compile the catalogs after editing templates or .po files.
translations: setup
	$(BIN)/pybabel -q extract -F web/babel.cfg -k _l -o web/translations/messages.pot .
	$(BIN)/pybabel -q update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching
	$(BIN)/pybabel -q compile -d web/translations
