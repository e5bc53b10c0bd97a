"""Check that an OpenMMLab stack imports and that mmcv's compiled ops run.

Used by ``.dev_scripts/bootstrap.sh`` and ``.dev_scripts/stacks.sh`` after an
install and before reusing an environment; exits non-zero with the reason
otherwise.
"""
import mmcv
import mmdet
import mmengine
import mmseg
import torch
from mmcv.ops import RoIAlign, nms

boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                      [50., 50., 60., 60.]])
_, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
assert keep.tolist() == [0, 2], keep
rois = torch.tensor([[0., 0., 0., 4., 4.]])
out = RoIAlign((2, 2), 1.0, 0)(torch.ones(1, 1, 8, 8), rois)
assert torch.allclose(out, torch.ones_like(out)), out
print(f'torch {torch.__version__}, mmcv {mmcv.__version__} (ops OK), '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
      f'mmseg {mmseg.__version__}')
