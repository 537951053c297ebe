# zcbench — `make demo` (install + a no-download run) and `make test` are the two entry points.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
RESULTS ?= results/zcbench.h5

.PHONY: install test demo clean

install:
	$(PIP) install -e '.[dev]'

test:
	$(PYTHON) -m pytest -q

demo: install
	zcbench score --space nb201 --sample 50 --proxy params --proxy flops --proxy synflow --out results/demo.h5
	zcbench export results/demo.h5 --sort synflow --head 15

clean:
	rm -rf results reports .pytest_cache

# >>> reproduce targets
# <<< reproduce targets
