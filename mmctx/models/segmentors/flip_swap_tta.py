from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.utils import SampleList

from ...registry import MODELS


@MODELS.register_module()
class FlipSwapSegTTAModel(SegTTAModel):
    """mmseg's ``SegTTAModel`` for datasets with left/right classes.

    A horizontally flipped image shows a left arm where the original shows
    a right one. mmseg flips a flipped view's logits back in space only, so
    averaging them with the unflipped view's mixes up left and right
    (human parsing: LIP's arms, legs and shoes). Here the logits of every
    horizontally flipped view also exchange the channels of each pair in
    ``swap_classes`` before the views are averaged, as the training
    pipeline's ``RandomFlip(swap_seg_labels=...)`` does with the labels.

    Args:
        module (dict | nn.Module): The segmentor.
        swap_classes (Sequence[Tuple[int, int]]): Pairs of class indices a
            horizontal flip exchanges, e.g. LIP's
            ``[(14, 15), (16, 17), (18, 19)]``.
        data_preprocessor (dict, optional): As for ``SegTTAModel``.
    """

    def __init__(self,
                 module,
                 swap_classes: Sequence[Tuple[int, int]],
                 data_preprocessor: Optional[dict] = None):
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        self.swap_classes = self._check_pairs(swap_classes)

    @staticmethod
    def _check_pairs(swap_classes) -> List[Tuple[int, int]]:
        pairs = [tuple(pair) for pair in swap_classes]
        classes = [c for pair in pairs for c in pair]
        if not pairs or any(len(pair) != 2 for pair in pairs) or any(
                not isinstance(c, int) or c < 0 for c in classes):
            raise ValueError('swap_classes must be pairs of class indices '
                             f'>= 0, got swap_classes={swap_classes!r}')
        if len(set(classes)) != len(classes):
            raise ValueError('each class may be in one pair of swap_classes '
                             f'only, got swap_classes={swap_classes!r}')
        return pairs

    def _swapped_channels(self, num_classes: int) -> torch.Tensor:
        if max(c for pair in self.swap_classes for c in pair) >= num_classes:
            raise ValueError(
                f'swap_classes={self.swap_classes!r} names a class beyond '
                f'the {num_classes} the model predicts')
        order = list(range(num_classes))
        for a, b in self.swap_classes:
            order[a], order[b] = b, a
        return torch.tensor(order)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Swap the paired classes of horizontally flipped views, then
        average all views as ``SegTTAModel`` does."""
        for data_samples in data_samples_list:
            for sample in data_samples:
                if sample.metainfo.get('flip') and sample.metainfo.get(
                        'flip_direction') == 'horizontal':
                    logits = sample.seg_logits.data
                    order = self._swapped_channels(logits.size(0))
                    sample.seg_logits = PixelData(
                        data=logits[order.to(logits.device)])
        return super().merge_preds(data_samples_list)
