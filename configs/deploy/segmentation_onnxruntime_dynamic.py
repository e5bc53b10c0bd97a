# mmdeploy 1.3.1 deploy config: mmseg segmentors (mmctx heads included) to
# ONNX Runtime with free batch, height and width
# (docs/en/user_guides/deployment.md).
# mmdeploy's stock configs are not in its wheel, so this one is complete.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=None,
    optimize=True,
    dynamic_axes=dict(
        input={
            0: 'batch',
            2: 'height',
            3: 'width'
        },
        output={
            0: 'batch',
            2: 'height',
            3: 'width'
        }))
codebase_config = dict(type='mmseg', task='Segmentation', with_argmax=True)
backend_config = dict(type='onnxruntime')
