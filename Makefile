# The two commands of the README. Each sets up .venv/ first (.dev_scripts/bootstrap.sh:
# created when missing, reused when current).
PY := .venv/bin/python
# What the other stacks run (docs/en/advanced_guides/compatibility.md): the smoke tests and the `stack`
# tests (pip install changes nothing, mim train/test, resume, export).
STACK_TESTS := -m "smoke or stack"

.PHONY: env demo lint docs test test-stack test-matrix cuda-check

env:
	@bash .dev_scripts/bootstrap.sh

demo: env
	$(PY) tools/demo.py

# OpenMMLab's linters (.pre-commit-config.yaml: flake8, isort, yapf, ...) on every file.
lint: env
	$(PY) -m pre_commit run --all-files --show-diff-on-failure

# The docs as HTML (docs/en/_build/html), Sphinx with MyST and the API reference from the
# docstrings; a warning is an error.
docs: env
	$(PY) -m sphinx -W --keep-going -q -b html docs/en docs/en/_build/html

# pytest-xdist on the default stack: one worker per core, each test file on one worker (its
# module fixtures, such as a shared training, built once); `make test XDIST=` runs serially.
XDIST := -n logical --dist loadfile

# The linters, the docs, the whole suite on the default stack, then the legacy stack (torch
# 2.1.2 + mmcv 2.1.0), built once outside the clone by .dev_scripts/stacks.sh.
test: env lint docs
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-stack STACK=legacy

# make test-stack STACK=legacy|newest|onedl
test-stack:
	@python="$$(bash .dev_scripts/stacks.sh $(STACK))" && \
	  echo "== $(STACK) stack: $$python" && \
	  PYTHONPATH="$(CURDIR)" "$$python" -m pytest $(STACK_TESTS) -p no:cacheprovider $(STACK_ARGS)

# The newest torch pip installs here, and the OneDL fork on Python 3.12 with numpy 2.
test-matrix:
	$(MAKE) --no-print-directory test-stack STACK=newest
	$(MAKE) --no-print-directory test-stack STACK=onedl

# On a machine with a GPU (and a CUDA torch: see docs/en/get_started.md): the CUDA tests,
# then ISA paper Fig. 1 on the GPU, inference and training, fp32 and bf16.
cuda-check: env
	$(PY) -m pytest -m cuda tests/test_cuda.py
	$(PY) tools/benchmark.py isa-fig1 --device cuda --dtype fp32 bf16
	$(PY) tools/benchmark.py isa-fig1 --device cuda --mode train --dtype fp32 bf16
