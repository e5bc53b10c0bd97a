"""Checkpoint converters from other implementations of the papers'
modules."""
from .mmseg_isanet import HEAD_OPTIONS, convert_checkpoint, convert_state_dict

__all__ = ['HEAD_OPTIONS', 'convert_checkpoint', 'convert_state_dict']
