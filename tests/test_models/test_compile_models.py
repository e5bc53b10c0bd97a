"""Whole models compiled: an mmseg segmentor with ``mmctx.ISAHead`` /
``mmctx.SRHead``, an mmdet ResNet with the plugins and one with a
``DetContextResNet`` block, each compiled whole (one graph, no break) and
equal to eager with weights and BatchNorm statistics randomised. The
backend is ``aot_eager`` (dynamo's graph through AOT autograd, the path
inductor takes); inductor's kernels are checked on the blocks in
tests/test_models/test_layers/test_compile.py."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope

from mmctx.deployment import randomise_

pytestmark = pytest.mark.skipif(
    not hasattr(torch.compiler, 'is_exporting'),
    reason='torch < 2.5 cannot tell torch.compile from export: a compiled '
    'model takes the export path there '
    '(docs/en/advanced_guides/compatibility.md)')


def segmentor(repo_root, name):
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(f'{repo_root}/configs/demo/{name}')
    cfg.model.pretrained = None
    model = MODELS.build(cfg.model)
    return lambda x: model(x, mode='tensor'), model


def detection_backbone(**kwargs):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    model = MODELS.build(dict(depth=50, **kwargs))
    return model, model


MODELS = {
    'ISAHead segmentor':
    lambda root: segmentor(root,
                           'isanet_r18w16-d8_1xb8-1k_context-cues-128x128.py'),
    'SRHead segmentor':
    lambda root: segmentor(root,
                           'srnet_r18w16-d8_1xb8-1k_context-cues-128x128.py'),
    'mmdet ResNet, SRBlock plugins':
    lambda root: detection_backbone(
        type='ResNet',
        plugins=[
            dict(
                cfg=dict(type='SRBlock', ratio=4),
                stages=(False, False, False, True),
                position='after_conv3')
        ]),
    'DetContextResNet, one ISABlock':
    lambda root: detection_backbone(
        type='mmctx.DetContextResNet',
        context_cfg=dict(type='ISABlock', reduction=2)),
}


@pytest.mark.parametrize('name', MODELS)
def test_compiled_model_equals_eager(name, repo_root):
    """float32 against eager: AOT's decompositions sum in another order
    (deep nets of unit-scale activations: 1e-4)."""
    forward, model = MODELS[name](repo_root)
    randomise_(model)
    model.eval()
    torch._dynamo.reset()
    compiled = torch.compile(forward, backend='aot_eager', fullgraph=True)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        expected, ours = forward(x), compiled(x)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)


class Losses(Hook):
    """Records each iteration's loss."""

    def __init__(self):
        self.values = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.values.append(float(outputs['loss']))


def train_losses(config, work_dir, data_root, compile_cfg):
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    options = {
        'train_cfg.max_iters': 2,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'default_hooks.checkpoint': None,
        'randomness.seed': 0,
        'work_dir': str(work_dir),
    }
    for split in ('train', 'val', 'test'):
        options[f'{split}_dataloader.dataset.data_root'] = str(data_root)
    cfg.merge_from_dict(options)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if compile_cfg is not None:
        cfg.compile = compile_cfg
    record = Losses()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(record)
    runner.train()
    return record.values


# One config and AOT autograd: what ``compile`` in a config does is
# mmengine's, the same for every model and backend. Inductor's training step
# is owned by test_inductor_training_step_matches_float64 in
# test_layers/test_compile.py (SR and ISA blocks; inductor compiles a whole
# demo model's step in two minutes on 2 cores without its cache), ISA's
# compiled segmentor by test_compiled_model_equals_eager.
@pytest.mark.parametrize('name,compile_cfg',
                         [('srnet', dict(backend='aot_eager'))])
def test_compile_in_a_config_trains_as_eager(name, compile_cfg, repo_root,
                                             tmp_path_factory):
    """``compile`` in a demo config (mmengine compiles ``train_step``): the
    first loss equals eager's to float32 noise (a 1-iteration difference
    of the summation order), training goes on."""
    config = (f'{repo_root}/configs/demo/'
              f'{name}_r18w16-d8_1xb8-1k_context-cues-128x128.py')
    data_root = tmp_path_factory.getbasetemp() / 'context_cues'
    eager = train_losses(config, tmp_path_factory.mktemp('eager'), data_root,
                         None)
    torch._dynamo.reset()
    ours = train_losses(config, tmp_path_factory.mktemp('compiled'), data_root,
                        compile_cfg)
    assert len(ours) == len(eager) == 2
    assert ours[0] == pytest.approx(eager[0], rel=1e-5)
    assert ours[1] == pytest.approx(eager[1], rel=1e-4)
