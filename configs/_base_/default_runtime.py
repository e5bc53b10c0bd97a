# mmseg's runtime with exact resume, and a distributed timeout of 10 minutes
# instead of 30: a rank that stops answering ends the run (reliability.md).
_base_ = ['mmseg::_base_/default_runtime.py', './exact_resume.py']
env_cfg = dict(dist_cfg=dict(timeout=600))
