"""The cost figures the papers publish, as they print them, and the configs
of SR Table V's models.

Units: the ISA paper counts GFLOPs as 2 x MAC (its PPM figure, 619 G, is
2 x the 309 GMAC of PSPNet's bottleneck conv); the SR paper's "FLOPS" are
MACs (its "+2 * 3x3" row, 108.74 G, is the MAC count of the two convs).
"""
# ISA paper Table 13, input 2048x128x128: memory MB, GFLOPs (2 x MAC), ms
ISA_TABLE13 = {
    'PPM': (664, 619, 75),
    'NL': (2168, 619, 77),
    'DANet': (2339, 1110, 121),
    'RCCA': (427, 804, 131),
    'CGNL': (266, 412, 75),
    'mmseg.ISAHead': (252, 386, 45),
    'mmctx.ISAHead': (252, 386, 45),
}
# ISA paper Fig. 1, 512x128x128: ISA / SA ratios (memory, FLOPs, time).
ISA_FIG1_RATIOS = {'memory': 0.102, 'flops': 0.246, 'latency': 0.5}
# SR paper Table IV, features 2048x96x96: overhead over the head's two 3x3
# convs (GMAC, M params, MB); ASPP and PSP: whole head.
SR_TABLE4 = {
    '2x3x3': (108.74, 11.80, 108.00),
    'ASPP': (148.37, 15.54, 191.20),
    'PPM': (174.09, 23.07, 221.05),
    'SE': (0.00947, 0.03, 18.88),
    'NL': (48.36, 0.53, 865.52),
    'A2Net': (4.94, 0.53, 183.32),
    'CGNL': (4.91, 0.53, 201.94),
    'RCCA': (11.55, 0.53, 394.28),
    'Enc': (12.31, 0.59, 257.12),
    'ANN': (10.41, 0.68, 421.12),
    'EMA': (6.97, 0.54, 132.64),
    'SR-GAP': (2.43, 0.26, 82.31),
    'SR-GHP': (3.64, 0.40, 110.75),
}
SR_TABLE4_WHOLE_HEADS = ('ASPP', 'PPM')
# SR paper Table V, Cityscapes test, 1024x2048 on a GTX 1080 Ti:
# (params M, mIoU, FPS); the configs of each row.
SR_TABLE5 = {
    'DF-Seg-v1': (9.37, 73.0, 80),
    'DF-Seg-v2': (18.83, 74.8, 55),
    'SRNet-DFv2': (18.87, 77.5, 65),
}
TABLE5_CONFIGS = {
    'DF-Seg-v1': 'dfseg/dfseg_dfnetv1_4xb4-50k_cityscapes-1024x1024.py',
    'DF-Seg-v2': 'dfseg/dfseg_dfnetv2_4xb4-50k_cityscapes-1024x1024.py',
    'SRNet-DFv2': 'srnet/srnet_dfnetv2_4xb4-50k_cityscapes-1024x1024.py',
}
TABLE5_REFERENCE = 'DF-Seg-v2'
