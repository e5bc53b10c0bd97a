from setuptools import find_packages, setup


def get_version():
    scope = {}
    with open('mmctx/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmctx',
    version=get_version(),
    description='Squeeze Reasoning and Interlaced Sparse Self-Attention '
    'for MMSegmentation and MMDetection',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmctx', 'mmctx.*']),
    python_requires='>=3.8',
    install_requires=[
        'torch>=2.0',
        'mmengine==0.10.7',
        'mmcv>=2.0.0,<2.2.0',
        'mmdet>=3.3.0,<3.4.0',
        'mmsegmentation>=1.2.0,<1.3.0',
        'numpy<2',
        'ftfy',
        'regex',
        'pycocotools>=2.0.9',
        'panopticapi-lite',
    ],
    extras_require={
        # mmdeploy pins protobuf<=3.20.2, which onnx no longer installs
        # with: `pip install mmdeploy==1.3.1 --no-deps` after this extra.
        'deploy': [
            'onnx>=1.16', 'onnxruntime>=1.18', 'onnxscript', 'aenum',
            'multiprocess', 'dill', 'prettytable', 'terminaltables'
        ],
    },
    license='Apache License 2.0',
    zip_safe=False,
)
