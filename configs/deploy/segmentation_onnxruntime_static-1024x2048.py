# A fixed 1024x2048 input (whole Cityscapes frames).
_base_ = ['./segmentation_onnxruntime_dynamic.py']
onnx_config = dict(input_shape=[2048, 1024], dynamic_axes=None)
