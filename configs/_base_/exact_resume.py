# Exact resume (docs/en/reliability.md): every checkpoint carries the random
# state of each rank (mmctx.RandomStateHook, needs custom_imports=['mmctx']),
# and a fixed seed keeps the data order of a resumed run.
custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
