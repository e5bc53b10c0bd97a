# The papers' schedule: SGD (lr 0.01, momentum 0.9, weight decay 5e-4, from
# mmseg's schedules) with poly decay (power 0.9) down to 1e-4. A config states
# its length: train_cfg = dict(max_iters=N, val_interval=...) and the
# checkpoint interval. The decay has no `end`: mmengine's Runner ends it at
# max_iters, also when --cfg-options changes max_iters.
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, by_epoch=False)
]
