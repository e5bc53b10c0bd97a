"""mmctx packaging.

A wheel holds, besides the ``mmctx`` package, what OpenMMLab packages ship
in ``<package>/.mim/`` (``configs/``, the tools users run,
``model-index.yml``), so that ``mim train mmseg`` / ``mim test mmdet`` run
the shipped configs and ``mim run mmctx benchmark`` the tools without a
clone, and ``mmctx-scope.pth`` with its module ``_mmctx_scope``, which lets
any config inherit them as ``_base_ = 'mmctx::<method>/<config>.py'``.
"""
import os
import shutil
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

MIM_FILES = ('configs', 'model-index.yml')
# what users run; dist_train.sh and the maintainer's scripts (.dev_scripts/)
# work from a clone only
USER_TOOLS = ('benchmark.py', 'convert_mmseg_isanet.py', 'demo.py',
              'export_onnx.py', 'get_flops.py', 'plugin_cost.py',
              'visualize_context.py')
SCOPE_PTH = 'mmctx-scope.pth'


def get_version():
    scope = {}
    with open('mmctx/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


def parse_requirements(path):
    """The requirements listed in ``path``, one a line (``#`` comments)."""
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


class BuildPyWithMim(build_py):
    """Copies ``configs/``, :data:`USER_TOOLS` and ``model-index.yml`` into
    ``mmctx/.mim/`` and ``mmctx-scope.pth`` beside the package."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            # An editable wheel holds what its ``install`` command puts in
            # install_lib (build_lib is thrown away); ``mmctx::`` then finds
            # the clone's configs/ from the package, so no .mim is needed.
            install_lib = self.get_finalized_command('install').install_lib
            shutil.copyfile(SCOPE_PTH, os.path.join(install_lib, SCOPE_PTH))
            return
        mim = os.path.join(self.build_lib, 'mmctx', '.mim')
        for name in MIM_FILES:
            target = os.path.join(mim, name)
            if os.path.isdir(name):
                shutil.copytree(
                    name,
                    target,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                os.makedirs(mim, exist_ok=True)
                shutil.copyfile(name, target)
        os.makedirs(os.path.join(mim, 'tools'), exist_ok=True)
        for name in USER_TOOLS:
            shutil.copyfile(
                os.path.join('tools', name), os.path.join(mim, 'tools', name))
        shutil.copyfile(SCOPE_PTH, os.path.join(self.build_lib, SCOPE_PTH))


setup(
    name='mmctx',
    version=get_version(),
    description='Squeeze Reasoning and Interlaced Sparse Self-Attention '
    'for MMSegmentation and MMDetection',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmctx', 'mmctx.*']),
    py_modules=['_mmctx_scope'],
    cmdclass={'build_py': BuildPyWithMim},
    python_requires='>=3.8',
    # Only what cannot break a stack. torch, mmcv, mmengine, mmdet and
    # mmsegmentation are never required: pip would replace a user's build
    # (a CUDA torch, mmcv compiled against it, the OneDL fork's
    # distributions). They are listed for `mim install` in
    # requirements/mminstall.txt and checked on import (mmctx/stack.py).
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'mim': parse_requirements('requirements/mminstall.txt'),
        # the classification configs (pure Python; pulls no torch or mmcv)
        'cls': parse_requirements('requirements/cls.txt'),
        # pycocotools and panopticapi for mmdet's COCO and PQ metrics
        'optional': parse_requirements('requirements/optional.txt'),
        'tests': parse_requirements('requirements/tests.txt'),
        # mmdeploy pins protobuf<=3.20.2, which onnx no longer installs
        # with: `pip install mmdeploy==1.3.1 --no-deps` after this extra.
        'deploy': parse_requirements('requirements/deploy.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
