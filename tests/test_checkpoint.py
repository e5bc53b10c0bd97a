"""Safe checkpoint loading (mmctx.checkpoint through the ``checkpoint``
compat patch): the allowlist that OpenMMLab checkpoints need, enforced by
torch's weights_only unpickler (torch >= 2.5) or by mmctx's allowlist
pickle module (every torch; the only way on torch 2.1), each test on both
where both exist; anything else refused before it runs."""
import io
import os
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint

import mmctx  # noqa: F401
from mmctx import checkpoint
from mmctx.checkpoint import (HAS_SAFE_GLOBALS, TRUST_ENV,
                              UnsafeCheckpointError, trusted_checkpoints)

pytestmark = pytest.mark.smoke
TORCH_LOADS_WEIGHTS_ONLY = tuple(
    int(v) for v in torch.__version__.split('.')[:2]) >= (2, 6)


@pytest.fixture(params=[
    pytest.param(
        True,
        id='safe_globals',
        marks=pytest.mark.skipif(
            not HAS_SAFE_GLOBALS,
            reason=f'torch {torch.__version__} has no '
            'torch.serialization.safe_globals (>= 2.5)')),
    pytest.param(False, id='pickle_module')
])
def mechanism(request, monkeypatch):
    """Which of the two ways :func:`mmctx.checkpoint.load` enforces the
    allowlist."""
    monkeypatch.setattr(checkpoint, 'HAS_SAFE_GLOBALS', request.param)
    return request.param


class Payload:
    """Unpickling this runs a shell command: what a malicious checkpoint
    does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def save_malicious(tmp_path):
    marker = tmp_path / 'payload-ran'
    path = str(tmp_path / 'evil.pth')
    torch.save(
        dict(
            state_dict=torch.nn.Linear(2, 3).state_dict(),
            meta=dict(note=Payload(marker))), path)
    return path, marker


@pytest.mark.usefixtures('mechanism')
def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path):
    path, marker = save_malicious(tmp_path)
    with pytest.raises(UnsafeCheckpointError) as error:
        load_checkpoint(torch.nn.Linear(2, 3), path, map_location='cpu')
    message = str(error.value)
    assert 'posix.system' in message or 'os.system' in message
    assert TRUST_ENV in message and 'trusted_checkpoints' in message
    assert not marker.exists()


class HistoryBufferAttribute:
    """Unpickles as ``getattr(HistoryBuffer, name)``."""

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return getattr, (HistoryBuffer, self.name)


class Gadget:
    """torch's allowlisted ``_rebuild_from_type_v2`` calls ``func(*args)``:
    with ``func = getattr(HistoryBuffer, 'register_statistics')`` and
    ``codecs.encode`` as the argument, unpickling would change mmengine's
    process-wide statistics table."""

    def __reduce__(self):
        import codecs
        return torch._tensor._rebuild_from_type_v2, (
            HistoryBufferAttribute('register_statistics'), torch.Tensor,
            (codecs.encode, ), {})


@pytest.mark.usefixtures('mechanism')
def test_the_history_buffer_getattr_gadget_is_refused_uncalled(tmp_path):
    """Only the statistic methods checkpoints pickle (``current``, ``max``,
    ``mean``, ``min``) pass the loader's ``getattr``; the gadget chain is
    refused with the unsafe-checkpoint error naming the file, and nothing
    was registered."""
    path = str(tmp_path / 'gadget.pth')
    torch.save(dict(state_dict={}, meta=dict(note=Gadget())), path)
    registered = dict(HistoryBuffer._statistics_methods)
    with pytest.raises(UnsafeCheckpointError, match='gadget.pth'):
        load_checkpoint(torch.nn.Linear(2, 3), path, map_location='cpu')
    assert HistoryBuffer._statistics_methods == registered
    assert 'encode' not in HistoryBuffer._statistics_methods


@pytest.mark.usefixtures('mechanism')
def test_a_callers_weights_only_false_does_not_lift_the_allowlist(tmp_path):
    """onedl-mmengine 0.10.12 retries a refused checkpoint with
    torch.load(..., weights_only=False); the retry is refused too."""
    path, marker = save_malicious(tmp_path)
    for weights_only in (False, True, None):
        with pytest.raises(UnsafeCheckpointError):
            checkpoint.load(
                path, map_location='cpu', weights_only=weights_only)
    assert not marker.exists()


@pytest.mark.usefixtures('mechanism')
def test_trusted_opt_in_loads_it(tmp_path):
    path, marker = save_malicious(tmp_path)
    with trusted_checkpoints():
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert marker.exists()  # trusted: the file's code did run
    marker.unlink()
    with pytest.raises(UnsafeCheckpointError):  # only inside the block
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


@pytest.mark.parametrize(
    'trust, error', [('1', None), ('', UnsafeCheckpointError),
                     (None, UnsafeCheckpointError)] +
    [(value, f'{TRUST_ENV}={value!r} is not understood')
     for value in ('false', '0', 'yes', 'True', ' 1')],
    ids=repr)
def test_trust_environment_variable(tmp_path, monkeypatch, trust, error):
    """One spelling of yes; unset or empty is no; anything else is refused
    loudly (``false`` used to mean yes: the payload ran). The variable is
    read at each load, so the test sets it in this process."""
    path, marker = save_malicious(tmp_path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    if trust is not None:
        monkeypatch.setenv(TRUST_ENV, trust)
    if error is None:
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    elif isinstance(error, str):
        with pytest.raises(ValueError, match=re.escape(error)):
            CheckpointLoader.load_checkpoint(path, map_location='cpu')
    else:
        with pytest.raises(error):
            CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert marker.exists() == (error is None)


@pytest.mark.usefixtures('mechanism')
@pytest.mark.parametrize('content, message', [
    (b'', 'is empty: not a checkpoint'),
    (os.urandom(256), 'not a checkpoint written by torch.save'),
    (b'<html>404 Not Found</html>', "starts with b'<html>40'"),
    ('truncated', 'corrupt or truncated checkpoint'),
    ('truncated legacy', 'corrupt or truncated checkpoint'),
])
def test_a_file_that_is_no_checkpoint_is_named_so(tmp_path, content, message):
    """Not reported as unsafe with advice to trust it."""
    path = tmp_path / 'bad.pth'
    if isinstance(content, str):  # half of a real checkpoint
        torch.save(
            dict(state_dict=torch.nn.Linear(20, 30).state_dict()),
            path,
            _use_new_zipfile_serialization='legacy' not in content)
        content = path.read_bytes()[:len(path.read_bytes()) // 2]
    path.write_bytes(content)
    with pytest.raises(checkpoint.CorruptCheckpointError, match=message):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


@pytest.mark.usefixtures('mechanism')
def test_checkpoint_shaped_like_the_model_zoos_loads(tmp_path):
    """mmseg 0.x / mmdet 2.x zoo meta (CLASSES, PALETTE, env_info, config
    text) and an mmengine 0.x one (dataset_meta, numpy seed, message hub
    with HistoryBuffers, ConfigDict) load with weights_only in force."""
    model = torch.nn.Conv2d(3, 4, 1)
    hub = MessageHub('zoo-like')
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', np.int64(8))
    zoo = dict(
        meta=dict(
            CLASSES=('road', 'sidewalk'),
            PALETTE=[[128, 64, 128], [244, 35, 232]],
            env_info='sys.platform: linux',
            config='model = dict()',
            mmcv_version='1.3.0',
            seed=np.int64(7),
            hook_msgs=dict(last_ckpt='iter_8.pth'),
            dataset_meta=dict(
                classes=('a', 'b'),
                palette=np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)),
            cfg=ConfigDict(a=1)),
        state_dict=OrderedDict(model.state_dict()),
        message_hub=hub.state_dict(),
        optimizer=torch.optim.SGD(model.parameters(), 0.1).state_dict())
    path = str(tmp_path / 'zoo.pth')
    torch.save(zoo, path)
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert loaded['meta']['CLASSES'] == ('road', 'sidewalk')
    assert loaded['meta']['seed'] == 7
    assert isinstance(loaded['meta']['cfg'], ConfigDict)
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.current() == 0.5
    np.testing.assert_array_equal(loaded['meta']['dataset_meta']['palette'],
                                  [[1, 2, 3], [4, 5, 6]])
    torch.testing.assert_close(
        loaded['state_dict']['weight'], model.weight, rtol=0, atol=0)


def test_allowlist_is_only_in_effect_while_loading(tmp_path):
    path = str(tmp_path / 'numpy.pth')
    torch.save(dict(meta=dict(seed=np.int64(1))), path)
    CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert torch.load.__module__ == 'torch.serialization'
    if TORCH_LOADS_WEIGHTS_ONLY:
        with pytest.raises(Exception, match='weights_only|Unsupported global'):
            torch.load(path)


def rename_globals(path, old, new):
    """Rewrite the pickle inside a torch.save zip file, replacing the module
    path ``old`` by ``new`` in its GLOBAL opcodes (protocol 2 writes them as
    text lines), as if another numpy had written it."""
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, 'w') as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith('/data.pkl'):
                assert f'c{old}'.encode() in data
                data = data.replace(f'c{old}'.encode(), f'c{new}'.encode())
            dst.writestr(item, data)
    with open(path, 'wb') as f:
        f.write(out.getvalue())


@pytest.mark.usefixtures('mechanism')
@pytest.mark.parametrize('written_by', ['numpy.core', 'numpy._core'])
def test_numpy_1_and_2_checkpoints_load_under_either(tmp_path, written_by):
    """numpy 1 pickles numpy.core.multiarray.scalar, numpy 2
    numpy._core.multiarray.scalar: both names are allowed."""
    path = str(tmp_path / 'numpy.pth')
    torch.save(dict(meta=dict(seed=np.int64(5), hist=np.arange(3))), path)
    here = 'numpy._core' if np.__version__ >= '2' else 'numpy.core'
    if written_by != here:
        rename_globals(path, f'{here}.multiarray', f'{written_by}.multiarray')
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert loaded['meta']['seed'] == 5
    np.testing.assert_array_equal(loaded['meta']['hist'], [0, 1, 2])


@pytest.mark.usefixtures('mechanism')
def test_load_url_goes_through_the_allowlist(tmp_path):
    """mmengine's ``load_url`` (http checkpoints) is mmctx's: the file is
    cached under ``model_dir`` and refused like a local one."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    assert mmengine_checkpoint.load_url is checkpoint.load_url
    good = tmp_path / 'good.pth'
    torch.save(
        dict(state_dict=dict(w=torch.ones(2)), meta=dict(seed=np.int64(3))),
        good)
    evil, marker = save_malicious(tmp_path)
    cache = tmp_path / 'cache'
    loaded = checkpoint.load_url(good.as_uri(), model_dir=str(cache))
    assert loaded['meta']['seed'] == 3 and (cache / 'good.pth').is_file()
    torch.testing.assert_close(loaded['state_dict']['w'], torch.ones(2))
    with pytest.raises(UnsafeCheckpointError, match='system'):
        checkpoint.load_url('file://' + evil, model_dir=str(cache))
    assert not marker.exists()


def test_pickle_module_refuses_before_calling():
    """The allowlist pickle module on its own: a REDUCE of a global outside
    it never gets the global."""
    import pickle
    data = pickle.dumps(Payload('/nonexistent/never'), protocol=2)
    module = checkpoint.allowlist_pickle_module()
    with pytest.raises(pickle.UnpicklingError, match='GLOBAL posix.system'):
        module.load(io.BytesIO(data))
    assert module.load(
        io.BytesIO(
            pickle.dumps(dict(a=[1, 2.5, 'x'], b=(None, True)),
                         protocol=2))) == dict(
                             a=[1, 2.5, 'x'], b=(None, True))
