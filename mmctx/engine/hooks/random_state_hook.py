"""Exact resume: the random state of every rank travels in the checkpoint.

mmengine 0.10.7 restores weights, optimizer, schedulers and the iteration
count, but no random-number state: after ``--resume`` dropout masks and
random augmentation drawn in the main process differ from the run that was
never interrupted, so the two end with different weights.
"""
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

STATE_KEY = 'random_state'


def get_random_state() -> Dict:
    """The state of python's, numpy's and torch's global generators (CUDA
    too when available), as ints and tensors: a checkpoint holding it still
    loads with ``weights_only=True`` and no extra allowed globals."""
    version, keys, gauss = random.getstate()
    algorithm, np_keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=dict(version=version, keys=torch.tensor(keys), gauss=gauss),
        numpy=dict(
            algorithm=algorithm,
            keys=torch.from_numpy(np_keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: Dict) -> None:
    """Restore what :func:`get_random_state` returned."""
    py = state['python']
    random.setstate((py['version'], tuple(py['keys'].tolist()), py['gauss']))
    np_state = state['numpy']
    np.random.set_state(
        (np_state['algorithm'], np_state['keys'].numpy().astype(np.uint32),
         np_state['pos'], np_state['has_gauss'], np_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        cuda_states = state['cuda']
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def _unusable(states) -> Optional[str]:
    """Why ``states`` (a checkpoint's ``random_state``) cannot be restored,
    or None. Checked by restoring this rank's entry once and putting the
    current state back, so it is checked before the data skip, by the same
    code that will restore it."""
    if not isinstance(states, (list, tuple)) or not all(
            isinstance(s, dict) for s in states):
        return f'expected a list of dicts, got {type(states).__name__}'
    if get_rank() >= len(states):
        return None  # written by fewer ranks: the caller says so
    current = get_random_state()
    try:
        set_random_state(states[get_rank()])
    except Exception as error:  # any malformation: not a bug of ours
        return f'{type(error).__name__}: {error}'
    finally:
        set_random_state(current)
    return None


class _RestoreAfterSkip:
    """Stands in for ``IterBasedTrainLoop.dataloader_iterator`` on resume.

    The loop first fetches (and drops) the batches that were already
    trained, drawing random augmentation as it goes; the random state must be
    restored after those and before the first batch that is trained.
    """

    def __init__(self, loop, skip: int, restore) -> None:
        self._loop = loop
        self._iterator = loop.dataloader_iterator
        self._skip = skip
        self._restore = restore

    def __iter__(self):
        return self

    def skip_iter(self, num_iters: int) -> None:
        """The loop of onedl-mmengine (>= 0.10.12) skips the trained batches
        through its iterator's ``skip_iter`` (a sampler skip where it can,
        drawing no batch): the next batch is then the first one trained."""
        self._iterator.skip_iter(num_iters)
        # the fast path drops the DataLoader iterator; rebuilding it draws a
        # seed from torch's generator, which must happen before the restore
        getattr(self._iterator, '_ensure_iterator', lambda: None)()
        self._skip = 0

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
        else:
            self._restore()
            self._loop.dataloader_iterator = self._iterator
        return next(self._iterator)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random state of every rank in each checkpoint and restore
    it on resume, so that a resumed run ends bit-identical to one that was
    never interrupted, dropout and random augmentation included.

    Each checkpoint gets ``checkpoint['random_state']``: one entry per rank
    (gathered from all ranks when a checkpoint is due) with the state of
    python's ``random``, numpy's global generator and torch's CPU (and CUDA)
    generators, taken at the point where the next training batch would be
    drawn. On resume, rank ``r`` restores entry ``r`` right before the first
    batch it trains: after ``IterBasedTrainLoop`` has skipped the batches
    already trained, or at the start of the next epoch. Validation runs
    between a save and the next batch in the uninterrupted run and not in the
    resumed one, so it is made neutral: the state is restored after it.

    A checkpoint without this state (an older or a stock one), or written
    by a different number of ranks, still resumes, with a warning that the
    continuation will not be exact.

    Not covered: dataloader worker processes draw from their own
    generators, seeded by mmengine's ``worker_init_fn`` from
    ``randomness.seed``, rank and worker id; ``IterBasedTrainLoop`` replays
    the skipped batches through the workers, which brings their streams to
    where they were, but an epoch-based loop with ``persistent_workers=True``
    restarts them from their seeds. The data order follows the sampler's
    seed: a fixed ``randomness.seed`` (as in the shipped configs) keeps it;
    with ``seed=None`` mmengine draws a new one before the checkpoint is read
    and the hook warns.

    Args:
        priority (str | int): Must run before :class:`CheckpointHook`
            (``'VERY_LOW'``) in ``after_train_iter``. Default: ``'LOW'``.
    """

    def __init__(self, priority='LOW') -> None:
        self.priority = priority
        self._saved: Optional[List[Dict]] = None
        self._loaded: Optional[List[Dict]] = None
        self._loaded_seed: Optional[int] = None
        self._before_val: Optional[Dict] = None
        self._epoch_start_state: Optional[Dict] = None

    # -- saving -----------------------------------------------------------
    def _capture(self) -> None:
        """Every rank's state, gathered (all ranks must call this)."""
        state = get_random_state()
        self._saved = (
            all_gather_object(state) if get_world_size() > 1 else [state])

    @staticmethod
    def _checkpoint_due(runner, by_epoch: bool) -> bool:
        """Whether :class:`CheckpointHook` saves at the end of this
        iteration (or epoch): its own conditions."""
        hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)),
                    None)
        if hook is None or hook.by_epoch != by_epoch:
            return False
        if by_epoch:
            every = hook.every_n_epochs(runner, hook.interval, hook.save_begin)
            return every or (hook.save_last
                             and hook.is_last_train_epoch(runner))
        return hook.every_n_train_iters(runner, hook.interval,
                                        hook.save_begin) \
            or (hook.save_last and hook.is_last_train_iter(runner))

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if self._checkpoint_due(runner, by_epoch=False):
            self._capture()

    def after_train_epoch(self, runner) -> None:
        if self._checkpoint_due(runner, by_epoch=True):
            self._capture()

    def before_val(self, runner) -> None:
        # also what a best-checkpoint saved during validation must carry
        self._capture()
        self._before_val = self._saved[get_rank()]

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_random_state(self._before_val)
            self._before_val = None
        self._saved = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Runner.save_checkpoint runs on rank 0 only: no collective here. A
        # save that no capture announced (a direct runner.save_checkpoint)
        # gets this process' state.
        checkpoint[STATE_KEY] = self._saved or [get_random_state()]
        self._saved = None

    # -- resuming ---------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # load_from calls this too; before_train tells a resume by progress
        self._loaded = checkpoint.get(STATE_KEY)
        self._loaded_seed = checkpoint.get('meta', {}).get('seed')

    def before_train(self, runner) -> None:
        if runner.iter == 0 and runner.epoch == 0:
            return
        self._warn_if_data_order_changes(runner)
        state = self._state_of_this_rank(runner)
        if state is None:
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):
            loop.dataloader_iterator = _RestoreAfterSkip(
                loop, runner.iter, lambda: set_random_state(state))
        else:
            self._epoch_start_state = state

    def before_train_epoch(self, runner) -> None:
        if self._epoch_start_state is not None:
            set_random_state(self._epoch_start_state)
            self._epoch_start_state = None

    def _state_of_this_rank(self, runner) -> Optional[Dict]:
        states, self._loaded = self._loaded, None
        world_size = get_world_size()
        if states is None:
            runner.logger.warning(
                'The resumed checkpoint holds no random state (written '
                'without RandomStateHook): training continues, but dropout '
                'and random augmentation will differ from a run that was '
                'never interrupted.')
            return None
        problem = _unusable(states)
        if problem:
            runner.logger.warning(
                f'The resumed checkpoint holds a malformed random state '
                f'({problem}): training continues without it, but dropout '
                'and random augmentation will differ from a run that was '
                'never interrupted.')
            return None
        if len(states) != world_size:
            runner.logger.warning(
                f'The resumed checkpoint holds the random state of '
                f'{len(states)} ranks, this run has {world_size}: training '
                'continues, but not exactly as the interrupted run would '
                'have.')
            return None
        return states[get_rank()]

    def _warn_if_data_order_changes(self, runner) -> None:
        sampler_seed = getattr(runner.train_dataloader.sampler, 'seed', None)
        if None in (self._loaded_seed, sampler_seed):
            return
        randomness = getattr(runner, '_randomness_cfg', {})
        offset = get_rank() if randomness.get('diff_rank_seed') else 0
        if sampler_seed != self._loaded_seed + offset:
            runner.logger.warning(
                f'The checkpoint was trained with seed {self._loaded_seed}, '
                f'but this run built its data sampler with seed '
                f'{sampler_seed}, so the data order after resuming differs. '
                f'For an exact resume set randomness.seed={self._loaded_seed}'
                f' (--cfg-options randomness.seed={self._loaded_seed}).')
