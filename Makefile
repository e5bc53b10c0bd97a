# The two commands of the README. Each sets up .venv/ first (tools/bootstrap.sh:
# created when missing, reused when current).
PY := .venv/bin/python

.PHONY: env demo test

env:
	@bash tools/bootstrap.sh

demo: env
	$(PY) tools/demo.py

test: env
	$(PY) -m pytest $(PYTEST_ARGS)
