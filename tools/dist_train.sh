#!/usr/bin/env bash
# Distributed training with MMSegmentation's own tools/train.py (shipped in the
# mmseg package under .mim/tools), like mmseg's tools/dist_train.sh:
#
#   tools/dist_train.sh CONFIG NPROC [train.py arguments...]
#
# One process per GPU with NCCL; on a CPU-only machine the processes talk over
# gloo (add --cfg-options env_cfg.dist_cfg.backend=gloo, or rely on mmctx's
# compat patch that picks gloo when CUDA is unavailable). Multi-node: set
# NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG NPROC [train.py arguments...]" >&2
  exit 2
fi
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
TRAIN_PY=$("$PYTHON" -c 'import os.path as osp, mmseg; print(osp.join(osp.dirname(mmseg.__file__), ".mim", "tools", "train.py"))')

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$TRAIN_PY" "$CONFIG" --launcher pytorch "${@:3}"
