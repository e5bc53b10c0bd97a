#!/usr/bin/env bash
# Create or reuse the project environment in .venv/ (see docs/en/get_started.md).
#
# Idempotent: a stamp inside .venv records the hash of this script and setup.py;
# when it matches and the stack imports, nothing is installed again.
# Environment:
#   PYTHON       interpreter used to create .venv (default: python3.11, else python3)
#   TORCH_SPEC   pip requirement for torch (default: torch==2.13.0). A torch that is
#                already importable in .venv (e.g. a CUDA build you installed) is kept.
#   MAX_JOBS     parallel compile jobs for the mmcv build (default: nproc)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.mmctx-bootstrap"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

T0=$SECONDS
step() { printf '\n[bootstrap %4ds] %s\n' "$((SECONDS - T0))" "$*"; }
pipi() { "$PY" -m pip install --progress-bar off "$@"; }

want_stamp() {
  cat "$ROOT/.dev_scripts/bootstrap.sh" "$ROOT/setup.py" "$ROOT/.dev_scripts/verify_stack.py" \
    | sha256sum | cut -d' ' -f1
}

verify_stack() { "$PY" "$ROOT/.dev_scripts/verify_stack.py"; }

if [[ -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$(want_stamp)" ]]; then
  step "reusing $VENV (stamp current); verifying"
  if verify_stack && "$PY" -c 'import mmctx'; then step "environment ready"; exit 0; fi
  step "verification failed: reinstalling"
fi

if [[ ! -x "$PY" ]]; then
  PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
  step "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
"$PY" -c 'import sys; assert sys.version_info[:2] >= (3, 8), sys.version' \
  || { echo "Python >= 3.8 required (3.11 tested)" >&2; exit 1; }

# Every pip call honours these: torch 2.13 asks for setuptools>=77 and would otherwise
# pull setuptools>=82, which has no pkg_resources (mmcv's setup.py, openmim, mmengine need it);
# from 80.9 on it warns (UserWarning) on every import (each mmseg::/mmdet:: config base, mim).
printf 'setuptools>=77,<80.9\nnumpy<2\n' > "$VENV/constraints.txt"
export PIP_CONSTRAINT="$VENV/constraints.txt"

step "build tools: setuptools<80.9 (mmcv/openmim/mmengine import pkg_resources), ninja, psutil, wheel"
pipi "setuptools>=77,<80.9" ninja psutil wheel

if "$PY" -c 'import torch' 2>/dev/null; then
  step "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
  step "torch: $TORCH_SPEC"
  pipi "$TORCH_SPEC"
fi

if "$PY" -c 'import mmcv, mmcv._ext; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; then
  step "mmcv 2.1.0 with compiled ops already installed"
else
  step "mmcv 2.1.0 from source, --no-build-isolation so the build sees torch (MAX_JOBS=$MAX_JOBS;" \
       "about 10 min on 2 cores the first time, seconds from pip's wheel cache after)"
  pipi --no-build-isolation "mmcv==2.1.0"
fi

step "OpenMMLab stack, openmim (without openxlab, which pins old setuptools/requests), test tools"
pipi "mmengine==0.10.7" "mmdet==3.3.0" "mmsegmentation==1.2.2" "numpy<2" ftfy regex \
  "pycocotools>=2.0.9" panopticapi-lite pytest pytest-xdist pre-commit
# mmpretrain (the classification configs) imports torchvision, which has no build for the
# CPU torch 2.13.0 (PyPI's links CUDA torch): installed beside a torch that has one
if "$PY" -c 'import torchvision' 2>/dev/null; then
  step "mmpretrain 1.2.0 (torchvision $("$PY" -c 'import torchvision as t; print(t.__version__)'))"
  pipi "mmpretrain==1.2.0"
else
  step "no torchvision for this torch: mmpretrain (classification configs) not installed"
fi
pipi --no-deps "openmim==0.3.9"
step "docs: Sphinx and MyST (make docs)"
pipi -r "$ROOT/requirements/docs.txt"
pipi click colorama model-index pandas rich tabulate requests

step "deployment: onnx, onnxruntime, onnxscript (dynamo exporter); mmdeploy 1.3.1 without its" \
     "pins (protobuf<=3.20.2 would break onnx), with the modules it imports"
pipi "onnx>=1.16" "onnxruntime>=1.18" onnxscript aenum multiprocess dill prettytable terminaltables
pipi --no-deps "mmdeploy==1.3.1"

step "mmctx (editable)"
pipi --no-build-isolation --no-deps -e "$ROOT"

step "verifying the stack (mmcv._ext: nms and RoIAlign on CPU)"
if ! verify_stack; then
  cat >&2 <<'MSG'

mmcv was installed without working compiled ops (mmcv._ext). Fix:
  .venv/bin/pip uninstall -y mmcv
  .venv/bin/pip cache remove 'mmcv*'
  MAX_JOBS=$(nproc) .venv/bin/pip install --no-build-isolation "setuptools>=77,<80.9" ninja psutil wheel mmcv==2.1.0
(--no-build-isolation lets the build see torch; without it mmcv installs without ops.)
MSG
  exit 1
fi
step "importing mmctx"
"$PY" -c 'import mmctx' || { echo "mmctx does not import: see the traceback above" >&2; exit 1; }
want_stamp > "$STAMP"
step "environment ready"
