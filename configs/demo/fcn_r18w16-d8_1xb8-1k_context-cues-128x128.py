# The dilated-FCN baseline of the demo (tools/demo.py).
_base_ = [
    '../_base_/models/fcn_r18w16-d8.py', '../_base_/datasets/context_cues.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_1k_cpu.py'
]
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
crop_size = (128, 128)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
