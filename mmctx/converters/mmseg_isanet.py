"""Convert an MMSegmentation ISANet checkpoint for ``mmctx.ISAHead``.

The command line is ``tools/convert_mmseg_isanet.py SRC.pth DST.pth``.

The converted checkpoint reproduces mmseg's logits exactly with the head
options mmseg hard-codes (the converter prints them)::

    model = dict(decode_head=dict(
        type='mmctx.ISAHead', value_bias=True, mask_padding=False))

What changes under ``decode_head.`` (everything else is copied as is):

* ``global_relation.*`` -> ``isa_module.stages.0.long_range.*``
* ``local_relation.*`` -> ``isa_module.stages.0.short_range.*``
* ``*.output_project.*`` -> ``*.out_project.*``
* ``out_conv.*`` (input ``[context, x]``) -> ``isa_module.fuse.*``
  (input ``[x, context]``)

The fusion conv's input channels are swapped (halves exchanged) because the
two heads concatenate in opposite orders. The two options are recorded in the
state dict's metadata for ``decode_head`` and ``mask_padding`` also in the
attention's record (``isa_module.stages.0.options_record``), which a head
that loaded the conversion saves again: loading it into an ``mmctx.ISAHead``
with other values is refused, naming the option.
"""
from collections import OrderedDict
from typing import Dict

import torch
from mmengine.runner import CheckpointLoader

from ..models.decode_heads.isa_head import OPTIONS_KEY
from ..models.layers._options import RECORD, encode_options

HEAD = 'decode_head.'
STAGE = HEAD + 'isa_module.stages.0.'
RENAMES = (
    (HEAD + 'global_relation.', STAGE + 'long_range.'),
    (HEAD + 'local_relation.', STAGE + 'short_range.'),
)
UNCHANGED_HEAD_PREFIXES = (HEAD + 'in_conv.', HEAD + 'conv_seg.')
FUSE_OLD, FUSE_NEW = HEAD + 'out_conv.', HEAD + 'isa_module.fuse.'
HEAD_OPTIONS = dict(value_bias=True, mask_padding=False)
#: The attention's record of its options, which survives a
#: re-save of the head that loaded the conversion.
ATTENTION_RECORD = (STAGE + RECORD,
                    dict(
                        mask_padding=HEAD_OPTIONS['mask_padding'],
                        order='long_short'))


def swap_concat_halves(weight: torch.Tensor) -> torch.Tensor:
    """Conv weight (C_out, 2C, kh, kw) for ``cat([a, b])`` -> the same map for
    ``cat([b, a])``."""
    if weight.dim() != 4 or weight.size(1) % 2:
        raise ValueError('expected the fusion conv weight (C_out, 2C, kh, '
                         f'kw), got shape {tuple(weight.shape)}')
    first, second = weight.chunk(2, dim=1)
    return torch.cat([second, first], dim=1)


def convert_key(key: str) -> str:
    """New name of one state-dict key (unchanged outside the ISA layers)."""
    for old, new in RENAMES:
        if key.startswith(old):
            return new + key[len(old):].replace('output_project.',
                                                'out_project.', 1)
    if key.startswith(FUSE_OLD):
        return FUSE_NEW + key[len(FUSE_OLD):]
    if key.startswith(HEAD) and not key.startswith(UNCHANGED_HEAD_PREFIXES):
        raise KeyError(
            f'unexpected decode_head key {key!r}: not an mmseg ISAHead '
            'checkpoint (expected in_conv, global_relation, local_relation, '
            'out_conv, conv_seg)')
    return key


def convert_state_dict(
        state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """mmseg ISANet state dict -> ``mmctx.ISAHead`` state dict."""
    if not any(k.startswith(HEAD + 'global_relation.') for k in state_dict):
        raise KeyError('no decode_head.global_relation.* weights: not an '
                       'mmseg ISANet checkpoint')
    converted = OrderedDict()
    for key, value in state_dict.items():
        new_key = convert_key(key)
        if key == FUSE_OLD + 'conv.weight':
            value = swap_concat_halves(value)
        converted[new_key] = value
    converted[ATTENTION_RECORD[0]] = encode_options(ATTENTION_RECORD[1])
    # the options travel with the weights: mmctx.ISAHead refuses to load
    # them with other values (its per-module state-dict metadata)
    converted._metadata = OrderedDict(
        {HEAD[:-1]: {
             OPTIONS_KEY: dict(HEAD_OPTIONS)
         }})
    return converted


def convert_checkpoint(src: str, dst: str) -> None:
    """Read ``src`` (a path or URL, a full checkpoint or a bare state dict),
    write ``dst`` with the converted ``state_dict`` and the original
    ``meta``."""
    checkpoint = CheckpointLoader.load_checkpoint(src, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = dict(checkpoint.get('meta', {}) or {})
    meta['mmctx_converted_from'] = 'mmseg ISAHead'
    meta['mmctx_head_options'] = dict(HEAD_OPTIONS)
    torch.save(dict(state_dict=convert_state_dict(state_dict), meta=meta), dst)
