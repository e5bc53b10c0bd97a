"""Every segmentation config of mmctx loads, is consistent with its name and
builds its model on the CPU (pretrained=None, SyncBN -> BN)."""
import copy
import functools
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmctx  # noqa: F401
from mmctx.models.decode_heads import ISAHead, SRHead

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the dilated-ResNet configs; the real-time DFNet ones are tested in
# tests/test_decode_heads/test_dfseg_head.py
SEG_CONFIGS = sorted(
    glob.glob(osp.join(REPO_ROOT, 'configs', 'srnet', 'srnet*_r*.py')) +
    glob.glob(osp.join(REPO_ROOT, 'configs', 'isanet', 'isanet*_r*.py')))
ALIASES = {
    'sr_r50_cityscapes.py':
    'srnet/srnet_r50-d8_4xb2-50k_cityscapes-769x769.py',
    'isa_r50_cityscapes.py':
    'isanet/isanet_r50-d8_4xb2-40k_cityscapes-769x769.py',
}
# {algo}[-variant]_{backbone}-d8_{gpus}xb{imgs}[-ohem]-{iters}_{dataset}-{h}x{w}.py
NAME = re.compile(r'(?P<algo>srnet|isanet)(?P<variant>(-[a-z0-9]+)*)_'
                  r'r(?P<depth>50|101)-d8_'
                  r'(?P<gpus>\d+)xb(?P<imgs>\d+)(?P<ohem>-ohem)?-'
                  r'(?P<iters>[\d.]+)k_(?P<dataset>[a-z0-9-]+)-'
                  r'(?P<h>\d+)x(?P<w>\d+)\.py$')
NUM_CLASSES = {
    'cityscapes': 19,
    'cityscapes-trainval': 19,
    'ade20k': 150,
    'pascal-context': 60,
    'camvid': 11,
    'lip': 20,
    'voc12aug': 21,
    'coco-stuff10k': 171
}

DETECTION_PREFIXES = ('mask-rcnn', 'cascade-mask-rcnn', 'panoptic-fpn')


def config_id(path):
    return osp.basename(path)


@pytest.fixture(autouse=True, scope='module')
def read_mmseg_metafiles_once():
    """mmengine 0.10.7 re-reads mmseg's 212 metafiles for every
    ``mmseg::`` base it resolves (about a second each); read each once."""
    from mmengine.config import utils
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utils, 'load',
                      functools.lru_cache(maxsize=None)(utils.load))
        yield


@functools.lru_cache(maxsize=None)
def _load(path):
    return Config.fromfile(path)


def load(path):
    """``Config.fromfile`` once per file (resolving ``mmseg::`` bases takes
    about a second), a fresh copy per caller."""
    return copy.deepcopy(_load(path))


def test_configs_found():
    assert len(SEG_CONFIGS) >= 25


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=config_id)
def test_config_matches_its_name(path):
    match = NAME.match(osp.basename(path))
    assert match, f'{osp.basename(path)} does not follow the mmseg scheme'
    cfg = load(path)
    head = cfg.model.decode_head
    assert head.type == {
        'srnet': 'mmctx.SRHead',
        'isanet': 'mmctx.ISAHead'
    }[match['algo']]
    assert cfg.model.backbone.depth == int(match['depth'])
    assert cfg.train_dataloader.batch_size == int(match['imgs'])
    iters = round(float(match['iters']) * 1000)
    assert cfg.train_cfg.max_iters == iters
    assert cfg.param_scheduler[-1].end == iters
    crop = (int(match['h']), int(match['w']))
    assert tuple(cfg.model.data_preprocessor.size) == crop
    pipeline = cfg.train_dataloader.dataset.get('pipeline') or \
        cfg.train_dataloader.dataset.datasets[0].pipeline
    crops = [t.crop_size for t in pipeline if t.type == 'RandomCrop']
    assert [tuple(c) for c in crops] == [crop]
    assert head.num_classes == NUM_CLASSES[match['dataset']]
    assert cfg.model.auxiliary_head.num_classes == head.num_classes
    # the papers' optimisation: SGD, momentum 0.9, weight decay 5e-4, poly
    # 0.9, auxiliary FCN loss weighted 0.4
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.9, 5e-4)
    assert (cfg.param_scheduler[-1].type,
            cfg.param_scheduler[-1].power) == ('PolyLR', 0.9)
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert (head.get('sampler') is not None) == bool(match['ohem'])
    assert 'mmctx' in cfg.custom_imports.imports


def test_paper_learning_rates():
    lrs = {
        osp.basename(p): load(p).optim_wrapper.optimizer.lr
        for p in SEG_CONFIGS
    }
    assert lrs['isanet_r50-d8_4xb4-152k_ade20k-520x520.py'] == 0.02
    assert lrs['isanet_r101-d8_4xb10-114k_lip-473x473.py'] == 0.007
    others = {
        k: v
        for k, v in lrs.items() if 'ade20k-520' not in k and '_lip-' not in k
    }
    assert set(others.values()) == {0.01}


def test_trainval_config_trains_on_train_and_val():
    cfg = load(
        osp.join(REPO_ROOT, 'configs', 'srnet',
                 'srnet_r50-d8_4xb2-ohem-120k_cityscapes-trainval-769x769.py'))
    datasets = cfg.train_dataloader.dataset.datasets
    assert [d.data_prefix.img_path
            for d in datasets] == ['leftImg8bit/train', 'leftImg8bit/val']
    for dataset in datasets:
        assert [t.type for t in dataset.pipeline
                ][2:4] == ['RandomResize', 'RandomCrop']
        assert dataset.pipeline[3].crop_size == (769, 769)


@pytest.mark.parametrize('alias', sorted(ALIASES))
def test_alias(alias):
    cfg = load(osp.join(REPO_ROOT, 'configs', alias))
    target = load(osp.join(REPO_ROOT, 'configs', ALIASES[alias]))
    assert cfg.model.to_dict() == target.model.to_dict()
    assert cfg.train_cfg.to_dict() == target.train_cfg.to_dict()
    assert cfg.model.backbone.depth == 50
    assert cfg.train_dataloader.dataset.type == 'CityscapesDataset'
    assert cfg.model.test_cfg.crop_size == (769, 769)


def _build(path):
    init_default_scope('mmseg')
    cfg = load(path)
    cfg.model.pretrained = None
    return revert_sync_batchnorm(MODELS.build(cfg.model))


# Building a ResNet-101 costs about a second: the R-50 configs and one R-101
# cover every (head, dataset) combination.
BUILD = [p for p in SEG_CONFIGS if '_r50-' in osp.basename(p)] + [
    osp.join(REPO_ROOT, 'configs', 'isanet',
             'isanet_r101-d8_4xb4-56k_coco-stuff10k-520x520.py')
]


@pytest.mark.parametrize('path', BUILD, ids=config_id)
def test_model_builds_on_cpu(path):
    model = _build(path)
    head_type = SRHead if osp.basename(path).startswith('srnet') else ISAHead
    assert type(model.decode_head) is head_type
    assert not any(
        isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())


def test_models_run_on_cpu():
    for path in (ALIASES['sr_r50_cityscapes.py'],
                 ALIASES['isa_r50_cityscapes.py']):
        model = _build(osp.join(REPO_ROOT, 'configs', path)).eval()
        with torch.no_grad():
            logits = model._forward(torch.randn(1, 3, 72, 88))
        assert logits.shape == (1, 19, 9, 11)
        assert torch.isfinite(logits).all()


@pytest.mark.parametrize('algo', ['srnet', 'isanet', 'dfseg'])
def test_metafile_lists_every_config_with_paper_numbers_only(algo):
    import yaml
    with open(osp.join(REPO_ROOT, 'configs', algo, 'metafile.yaml')) as f:
        metafile = yaml.safe_load(f)
    seg_models = [
        m for m in metafile['Models']
        if not m['Name'].startswith(DETECTION_PREFIXES)
    ]
    listed = {m['Config'] for m in seg_models}
    on_disk = {
        osp.relpath(p, REPO_ROOT)
        for p in glob.glob(osp.join(REPO_ROOT, 'configs', algo, '*.py'))
        if not osp.basename(p).startswith(DETECTION_PREFIXES)
    }
    assert listed == on_disk
    for model in seg_models:
        assert model['Weights'] == 'not trained yet'
        for name in (model['Results'] or {}).get('Metrics', {}):
            assert name.startswith('mIoU (paper')
    with open(osp.join(REPO_ROOT, 'configs', algo, 'README.md')) as f:
        readme = f.read()
    assert algo == 'dfseg' or readme.index('## Semantic segmentation') < 600
    for path in on_disk:
        assert osp.basename(path) in readme


@pytest.mark.parametrize(
    'config',
    SEG_CONFIGS + sorted(
        glob.glob(osp.join(REPO_ROOT, 'configs', '*', 'dfseg_*.py')) +
        glob.glob(osp.join(REPO_ROOT, 'configs', 'srnet', 'srnet_dfnet*.py'))),
    ids=osp.basename)
def test_tta_is_defined(config):
    """``mim test --tta`` needs both; LIP's swaps its left/right classes."""
    cfg = Config.fromfile(config)
    assert cfg.tta_pipeline[1].type == 'TestTimeAug'
    flips = [t.prob for t in cfg.tta_pipeline[1].transforms[1]]
    assert flips == [0., 1.]
    expected = ('mmctx.FlipSwapSegTTAModel'
                if '_lip-' in config else 'SegTTAModel')
    assert cfg.tta_model.type == expected


# SR paper Table IV counts the head as "+2 * 3x3" (11.80M) plus the block
# ("+SR (GHP)", 0.40M); the public code's head adds a 3x3 fusion conv on the
# concat of the head input and the block's output, (2048 + 512) x 512 x 9.
SR_HEADS = {
    'srnet-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py':
    11.80 + 0.40,
    'srnet_r50-d8_4xb2-50k_cityscapes-769x769.py':
    11.80 + 0.40 + (2048 + 512) * 512 * 9 / 1e6,
}


@pytest.mark.parametrize('name', SR_HEADS)
def test_sr_head_parameters_match_table_iv(name):
    """The decode head up to its classifier against the paper's count. The
    tolerance, 0.1%, is the paper's rounding of two terms to 0.01M (at most
    0.01M, 0.08% of 12.2M) plus the BN scales and shifts it may leave out
    (2 x 512 x 2 = 2048, 0.02%)."""
    head = _build(osp.join(REPO_ROOT, 'configs', 'srnet', name)).decode_head
    params = sum(p.numel() for name_, p in head.named_parameters()
                 if not name_.startswith('conv_seg.'))
    assert params / 1e6 == pytest.approx(SR_HEADS[name], rel=1e-3)


# SR paper Table III: (squeeze, reasoning) of each row's config; None: the
# dilated-FCN baseline, a 1x1 classifier on the backbone.
TABLE_III = {
    'fcn_r50-d8_4xb2-50k_cityscapes-769x769.py': None,
    'srnet-gap_r50-d8_4xb2-50k_cityscapes-769x769.py': ('gap', 'none'),
    'srnet-ghp_r50-d8_4xb2-50k_cityscapes-769x769.py': ('ghp', 'none'),
    'srnet-gap-fc_r50-d8_4xb2-50k_cityscapes-769x769.py': ('gap', 'fc'),
    'srnet-ghp-fc_r50-d8_4xb2-50k_cityscapes-769x769.py': ('ghp', 'fc'),
    'srnet-gap-gcn_r50-d8_4xb2-50k_cityscapes-769x769.py': ('gap', 'gcn'),
    'srnet_r50-d8_4xb2-50k_cityscapes-769x769.py': ('ghp', 'gcn'),
    'srnet-ghp-sa_r50-d8_4xb2-50k_cityscapes-769x769.py': ('ghp', 'attention'),
}
TABLE_III_BASE = 'srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'


def decode_heads_of_a_row(algo, name, base_name):
    """The decode heads of config ``name`` and of its setting
    ``base_name``, after asserting that nothing else differs (model,
    data, optimiser, schedule, evaluation)."""
    cfg = load(osp.join(REPO_ROOT, 'configs', algo, name)).to_dict()
    base = load(osp.join(REPO_ROOT, 'configs', algo, base_name)).to_dict()
    head = cfg['model'].pop('decode_head')
    base_head = base['model'].pop('decode_head')
    assert cfg['model'] == base['model']
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'test_cfg', 'val_evaluator'):
        assert cfg[key] == base[key], key
    return head, base_head


@pytest.mark.parametrize('name', TABLE_III)
def test_table_iii_rows_differ_from_the_setting_only_in_their_row(name):
    """Each row is the ablation setting (R-50-D8, 769x769, 50k) with the
    row's squeeze and reasoning, and nothing else changed."""
    head, base_head = decode_heads_of_a_row('srnet', name, TABLE_III_BASE)
    row = TABLE_III[name]
    if row is None:
        assert (head['type'], head['num_convs'],
                head['in_channels']) == ('FCNHead', 0, 2048)
        return
    squeeze, reasoning = row
    assert head.pop('sr_cfg') == dict(
        base_head.pop('sr_cfg'), squeeze=squeeze, reasoning=reasoning)
    assert head == base_head


def test_table_iii_baseline_parameters():
    """The dilated FCN has 23.63M parameters in Table IV. Ours, mmseg's
    ResNet-V1c-50 with a 1x1 classifier, has 0.27% fewer; the paper does not
    say which ResNet-50 variant it counts, so the tolerance is 0.5%."""
    model = _build(
        osp.join(REPO_ROOT, 'configs', 'srnet',
                 'fcn_r50-d8_4xb2-50k_cityscapes-769x769.py'))
    params = sum(p.numel() for name, p in model.named_parameters()
                 if not name.startswith('auxiliary_head.'))
    assert params / 1e6 == pytest.approx(23.63, rel=5e-3)


# ISA paper Tables 8 and 9: (down_factor, order) of each row's config, at
# the Cityscapes setting of Tables 8-10 (R-101-D8, 769x769, 40k).
ISA_ROWS = {
    'isanet_r101-d8_4xb2-40k_cityscapes-769x769.py': ((8, 8), 'long_short'),
    'isanet-p4x4_r101-d8_4xb2-40k_cityscapes-769x769.py':
    ((4, 4), 'long_short'),
    'isanet-p4x8_r101-d8_4xb2-40k_cityscapes-769x769.py':
    ((4, 8), 'long_short'),
    'isanet-p8x4_r101-d8_4xb2-40k_cityscapes-769x769.py':
    ((8, 4), 'long_short'),
    'isanet-p8x16_r101-d8_4xb2-40k_cityscapes-769x769.py':
    ((8, 16), 'long_short'),
    'isanet-p16x8_r101-d8_4xb2-40k_cityscapes-769x769.py': ((16, 8),
                                                            'long_short'),
    'isanet-p16x16_r101-d8_4xb2-40k_cityscapes-769x769.py': ((16, 16),
                                                             'long_short'),
    'isanet-shortlong_r101-d8_4xb2-40k_cityscapes-769x769.py': ((8, 8),
                                                                'short_long'),
}
ISA_ROWS_BASE = 'isanet_r101-d8_4xb2-40k_cityscapes-769x769.py'


@pytest.mark.parametrize('name', ISA_ROWS)
def test_isa_table_8_and_9_rows_differ_only_in_their_row(name):
    head, base_head = decode_heads_of_a_row('isanet', name, ISA_ROWS_BASE)
    down_factor, order = ISA_ROWS[name]
    assert tuple(head.pop('down_factor')) == down_factor
    assert head.pop('order', 'long_short') == order
    base_head.pop('down_factor')
    base_head.pop('order', None)
    assert head == base_head
    if name != ISA_ROWS_BASE:
        # the head that runs has the row's layout
        model_head = _build(osp.join(REPO_ROOT, 'configs', 'isanet',
                                     name)).decode_head
        (stage, ) = model_head.isa_module.stages
        assert stage.down_factor == down_factor and stage.order == order
