# NCPA: `make demo` runs the charger on the simulator, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint fmt certs clean wheelhouse chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

certs/dev/.done: certs/make_dev_keys.py | $(STAMP)
	$(BIN)/python certs/make_dev_keys.py certs/dev
	touch $@

certs: certs/dev/.done

demo: $(STAMP) certs
	$(BIN)/ncpa run --sim --config demo/ncpa.toml

# the browser tests drive Debian's chromium; CI installs it, elsewhere they skip without it
chromium:
	@if [ "$$CI" = "true" ] && [ ! -x /usr/bin/chromium ]; then \
		(apt-get update -q && apt-get install -y -q chromium) >/dev/null \
		|| echo "chromium could not be installed: the browser tests (tests/web) skip"; fi

test: $(STAMP) certs chromium
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP) certs chromium
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# the offline install set for a charger (docs/deployment.md): wheelhouse/<arch>/*.whl
WHEELHOUSE  ?= wheelhouse
WHEEL_ARCHS ?= aarch64
wheelhouse: $(STAMP)
	PYTHON=$(BIN)/python sh systemd/wheelhouse.sh $(WHEELHOUSE) $(WHEEL_ARCHS)

clean:
	rm -rf $(VENV) build *.egg-info demo/data
