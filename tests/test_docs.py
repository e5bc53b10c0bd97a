"""The docs hold together: every relative link of every markdown file of the
repository points at a file that exists, and at a heading of it where the
link names one; every paper number in a metafile names the row it
reproduces."""
import glob
import os.path as osp
import re
import subprocess

import pytest

LINK = re.compile(r'\]\(([^)\s]+)\)')


def markdown_files(repo_root):
    files = subprocess.run(['git', 'ls-files', '*.md'],
                           cwd=repo_root,
                           capture_output=True,
                           text=True,
                           check=True).stdout.split()
    return [osp.join(repo_root, f) for f in files]


def anchors(path):
    """GitHub's anchors of the headings of ``path``."""
    with open(path) as f:
        headings = [
            line.lstrip('#').strip() for line in f if line.startswith('#')
        ]
    return {
        re.sub(r'[^\w\- ]', '', h.lower()).replace(' ', '-')
        for h in headings
    }


@pytest.mark.smoke
def test_every_relative_link_resolves(repo_root):
    broken = []
    for path in markdown_files(repo_root):
        with open(path) as f:
            text = f.read()
        for target in LINK.findall(text):
            if '://' in target or target.startswith('mailto:'):
                continue
            file_part, _, anchor = target.partition('#')
            linked = osp.normpath(osp.join(osp.dirname(path), file_part)) \
                if file_part else path
            if not osp.exists(linked):
                broken.append(f'{path}: {target} (no such file)')
            elif anchor and linked.endswith('.md') and \
                    anchor not in anchors(linked):
                broken.append(f'{path}: {target} (no such heading)')
    assert not broken, '\n'.join(broken)


@pytest.mark.smoke
def test_every_paper_number_names_its_row(repo_root):
    """An entry that gives a paper's number (``Results``) names the table
    row it reproduces (``Metadata: Paper Row``), each row is named once
    across the metafiles, and every collection gives its paper's URL and
    the public code."""
    import yaml
    rows = []
    for path in sorted(
            glob.glob(osp.join(repo_root, 'configs', '*', 'metafile.yaml'))):
        with open(path) as f:
            metafile = yaml.safe_load(f)
        for collection in metafile['Collections']:
            assert collection['Paper']['URL'].startswith('https://arxiv.org/')
            assert collection['Code'].startswith('https://github.com/')
        for model in metafile['Models']:
            named = model.get('Metadata', {}).get('Paper Row') or []
            named = [named] if isinstance(named, str) else named
            assert named or not model['Results'], model['Name']
            assert all(
                re.fullmatch(r'(SR|ISA) (Table|Fig\.) \S+: .+', row)
                for row in named), named
            rows += named
    assert len(rows) == len(set(rows))


#: Modules the guides document instead: the compat patches, the stack checks,
#: the version, the demo behind ``make demo``.
GUIDE_ONLY = ('compat', 'stack', 'version', 'demo')


def public_modules(repo_root):
    """``mmctx.X`` of every public subpackage with an ``__all__`` and every
    public module at the package's top level, as the API reference should
    list them."""
    names = []
    for init in glob.glob(
            osp.join(repo_root, 'mmctx', '**', '__init__.py'), recursive=True):
        package = osp.relpath(osp.dirname(init), repo_root).replace('/', '.')
        parts = package.split('.')
        with open(init) as f:
            if '__all__' in f.read() and not any(
                    p.startswith('_') for p in parts) and len(parts) > 1:
                names.append(package)
    for path in glob.glob(osp.join(repo_root, 'mmctx', '*.py')):
        name = osp.splitext(osp.basename(path))[0]
        if not name.startswith('_') and name not in GUIDE_ONLY:
            names.append(f'mmctx.{name}')
    return names


def test_the_api_reference_lists_every_public_package(repo_root):
    """A new public package or module cannot be left out of docs/en/api.rst
    (``make docs`` builds it with warnings as errors). A subpackage whose
    parent is listed is covered by the parent's ``__all__``."""
    with open(osp.join(repo_root, 'docs', 'en', 'api.rst')) as f:
        listed = set(re.findall(r'^\.\. automodule:: (\S+)$', f.read(), re.M))
    missing = [
        name for name in public_modules(repo_root)
        if name not in listed and not any(
            name.startswith(parent + '.') for parent in listed)
    ]
    assert not missing, f'add to docs/en/api.rst: {missing}'
