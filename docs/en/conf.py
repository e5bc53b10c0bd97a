"""Sphinx configuration of the mmctx docs (``make docs``: HTML with warnings
as errors). The pages are MyST Markdown, as mmseg's; the API reference is
generated from the docstrings (api.rst)."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

project = 'mmctx'
author = 'mmctx contributors'
copyright = '2026, mmctx contributors'

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build']
myst_heading_anchors = 4
# MyST reports a relative link to a file outside the docs (a config, a tool,
# a test) as a missing cross-reference; tests/test_docs.py checks that every
# such link resolves in the repository instead
suppress_warnings = ['myst.xref_missing']
# MMPretrain is optional (it needs torchvision): its classes are documented
# from their docstrings where it is not installed
autodoc_mock_imports = []
try:
    import mmpretrain.models  # noqa: F401
except ImportError:
    autodoc_mock_imports.append('mmpretrain')
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# Attributes as fields of their class: a NamedTuple's are also documented as
# its members
napoleon_use_ivar = True
html_theme = 'alabaster'
html_title = 'mmctx'
