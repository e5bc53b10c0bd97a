#!/usr/bin/env bash
# Build (once) and print the interpreter of one of the other stacks mmctx is tested on
# (docs/en/advanced_guides/compatibility.md):
#   legacy  Python 3.11, torch 2.1.2 + mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0,
#           mmsegmentation 1.2.2, mmpretrain 1.2.0, numpy < 2: the prebuilt combination most
#           users run
#   newest  Python 3.11, the newest torch pip installs, mmcv 2.1.0, same OpenMMLab versions
#   onedl   Python 3.12, the newest torch, numpy 2, the OneDL fork (onedl-mmengine 0.10.12,
#           onedl-mmcv 2.3.6, onedl-mmsegmentation 1.4.2, onedl-mmdetection 3.5.1; no
#           mmpretrain, so the classification tests skip)
#
#   bash .dev_scripts/stacks.sh legacy     # builds on first use; prints .../legacy/bin/python
#
# Each lives outside the clone, in $MMCTX_STACKS/<name> (default ~/.cache/mmctx/stacks). The
# base (Python, torch, mmcv compiled against it) is built once per definition (a stamp holds
# its hash); the rest is pip-installed on each call, which takes seconds when nothing changed.
# mmctx itself is not installed there: the tests put the clone on PYTHONPATH.
# mmcv is compiled for the stack's own torch with --no-binary --no-cache-dir: pip's wheel cache
# keys mmcv by version only and would hand one torch's build to another (undefined symbols).
set -euo pipefail
NAME="${1:?usage: .dev_scripts/stacks.sh legacy|newest|onedl}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACKS="${MMCTX_STACKS:-$HOME/.cache/mmctx/stacks}"
VENV="$STACKS/$NAME"
PY="$VENV/bin/python"
STAMP="$VENV/.mmctx-stack"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}" PIP_DISABLE_PIP_VERSION_CHECK=1

# what a user of the stack has besides it: mim's modules (openmim without openxlab, which
# pins old setuptools), mmdet's metrics, onnx and mmdeploy's modules to export, pytest
EXTRA=(ftfy regex "pycocotools>=2.0.9" onnx onnxruntime onnxscript pytest
       click colorama model-index pandas rich tabulate requests
       aenum multiprocess dill prettytable terminaltables)
# OpenMMLab's own packages, unless the stack says otherwise. Without their pins: openxlab
# (openmim), protobuf<=3.20.2 (mmdeploy; onnx needs newer), numpy<2 (panopticapi-lite, which
# runs on numpy 2)
MMCV="mmcv==2.1.0"
STACK=("mmengine==0.10.7" "mmdet==3.3.0" "mmsegmentation==1.2.2" "mmpretrain==1.2.0")
NO_DEPS=("openmim==0.3.9" "mmdeploy==1.3.1" panopticapi-lite)
case "$NAME" in
  legacy)
    PYVER=3.11
    TORCH=("torch==2.1.2" "torchvision==0.16.2")
    CONSTRAINTS=("numpy<2" "opencv-python<4.12" "setuptools<70") ;;
  newest)
    PYVER=3.11
    TORCH=(torch torchvision)
    CONSTRAINTS=("numpy<2" "setuptools<80.9") ;;
  onedl)
    PYVER=3.12
    TORCH=(torch torchvision)
    CONSTRAINTS=("numpy>=2" "setuptools<80.9")
    MMCV="onedl-mmcv==2.3.6"
    STACK=("onedl-mmengine==0.10.12" "onedl-mmdetection==3.5.1" "onedl-mmsegmentation==1.4.2")
    NO_DEPS=("onedl-mim==0.5.1" panopticapi-lite) ;;
  *) echo "unknown stack '$NAME': expected legacy, newest or onedl" >&2; exit 2 ;;
esac

log() { printf '[stacks %s %4ds] %s\n' "$NAME" "$((SECONDS - T0))" "$*" >&2; }
want_stamp() { echo "$PYVER ${TORCH[*]} ${CONSTRAINTS[*]} $MMCV" | sha256sum | cut -d' ' -f1; }
pipi() { "$PY" -m pip install --progress-bar off "$@" >&2; }
T0=$SECONDS

find_python() {
  if command -v "python$PYVER" >/dev/null 2>&1 && "python$PYVER" -c '' 2>/dev/null; then
    command -v "python$PYVER"; return
  fi
  local found
  found="$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$PYVER".*/bin/python"$PYVER" \
    2>/dev/null | sort -V | tail -1)"
  [[ -n "$found" ]] || { echo "python$PYVER not found" >&2; exit 1; }
  echo "$found"
}

# torch >= 2.14's headers need C++20 and mmcv's setup.py (2.1.0, and onedl-mmcv 2.3.6) passes
# -std=c++17: the ninja build takes its compiler from CXX, here a c++ that swaps the flag.
cxx_for_torch() {
  local aten
  aten="$("$PY" -c 'from torch.utils.cpp_extension import include_paths as p; print(p()[0])')"
  if grep -q 'C++20 or later' "$aten/ATen/ATen.h"; then
    printf '#!/usr/bin/env bash
exec c++ "${@/#-std=c++17/-std=c++20}"
' > "$VENV/bin/c++20"
    chmod +x "$VENV/bin/c++20"
    echo "$VENV/bin/c++20"
  else
    echo "${CXX:-c++}"
  fi
}

export PIP_CONSTRAINT="$VENV/constraints.txt"
if [[ ! -x "$PY" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$(want_stamp)" ]]; then
  log "building $VENV (Python $PYVER; about 15 min on 2 cores: mmcv compiles)"
  rm -rf "$VENV"
  mkdir -p "$STACKS"
  "$(find_python)" -m venv "$VENV"
  printf '%s\n' "${CONSTRAINTS[@]}" > "$PIP_CONSTRAINT"
  pipi "${CONSTRAINTS[@]}" pip wheel ninja psutil
  pipi "${TORCH[@]}"
  log "compiling $MMCV against torch $("$PY" -c 'import torch; print(torch.__version__)')"
  CXX="$(cxx_for_torch)" pipi --no-build-isolation --no-binary mmcv,onedl-mmcv --no-cache-dir \
    "$MMCV"
  want_stamp > "$STAMP"
fi
pipi --quiet "${STACK[@]}" "${EXTRA[@]}"
pipi --quiet --no-deps "${NO_DEPS[@]}"
"$PY" "$ROOT/.dev_scripts/verify_stack.py" >&2
# What mmctx-scope.pth does for an installed mmctx, for the clone on PYTHONPATH: the mmctx::
# (and, on the fork, mmseg::) bases resolve in every process, mim's subprocesses included
site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "import importlib.util as u; u.find_spec('_mmctx_scope') and __import__('_mmctx_scope').install()" \
  > "$site/mmctx-from-pythonpath.pth"
log "ready"
echo "$PY"
