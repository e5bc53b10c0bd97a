# mmseg's runtime with exact resume (docs/en/advanced_guides/reliability.md):
# every checkpoint carries the random state of each rank
# (mmctx.RandomStateHook) and a fixed seed keeps the data order of a resumed
# run; and a distributed timeout of 10 minutes instead of 30, so that a rank
# that stops answering ends the run.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(timeout=600))
