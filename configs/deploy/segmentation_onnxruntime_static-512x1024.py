# A fixed 512x1024 input.
_base_ = ['./segmentation_onnxruntime_dynamic.py']
onnx_config = dict(input_shape=[1024, 512], dynamic_axes=None)
