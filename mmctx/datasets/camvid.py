"""CamVid road-scene dataset, 11 classes, SegNet split (367/101/233)."""
from typing import Dict, Optional, Sequence

from mmseg.datasets import BaseSegDataset

from ..registry import DATASETS


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid with the 11 classes and split of SegNet (Badrinarayanan et
    al.), the setting of the SRNet paper (Tab. VII(b)): 367 train, 101 val and
    233 test images.

    Expected layout (the one of the SegNet tutorial's ``CamVid`` folder; the
    same names at full 960x720 resolution work unchanged)::

        data/camvid
        ├── train       0001TP_006690.png ...
        ├── trainannot  0001TP_006690.png ...  (ids 0-10, 11 = void)
        ├── val         valannot
        └── test        testannot

    Annotation id 11 (``Unlabelled``/void) is mapped to ``ignore_index``
    (255) when loading, so the loss and ``IoUMetric`` skip it exactly like
    Cityscapes' 255; no label conversion script is needed.

    Args:
        img_suffix (str): Image file suffix. Defaults to '.png'.
        seg_map_suffix (str): Annotation file suffix. Defaults to '.png'.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Sidewalk', 'Tree',
                 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'),
        # The SegNet tutorial's colours (Pavement is called Sidewalk here).
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]])
    VOID_ID = 11

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    @classmethod
    def get_label_map(
            cls,
            new_classes: Optional[Sequence] = None
    ) -> Optional[Dict[int, int]]:
        """Label map of :class:`BaseSegDataset` (for a subset of classes)
        plus void (11) -> 255."""
        label_map = super().get_label_map(new_classes) or {}
        label_map[cls.VOID_ID] = 255
        return label_map
