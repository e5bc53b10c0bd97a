# The two commands of the README. Each sets up .venv/ first (tools/bootstrap.sh:
# created when missing, reused when current).
PY := .venv/bin/python

.PHONY: env demo test cuda-check

env:
	@bash tools/bootstrap.sh

demo: env
	$(PY) tools/demo.py

test: env
	$(PY) -m pytest $(PYTEST_ARGS)

# On a machine with a GPU (and a CUDA torch: see docs/en/get_started.md): the CUDA tests,
# then ISA paper Fig. 1 on the GPU, inference and training, fp32 and bf16.
cuda-check: env
	$(PY) -m pytest -m cuda tests/test_cuda.py
	$(PY) tools/benchmark.py isa-fig1 --device cuda --dtype fp32 bf16
	$(PY) tools/benchmark.py isa-fig1 --device cuda --mode train --dtype fp32 bf16
