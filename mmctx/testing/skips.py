"""Why a test cannot run here, as its skip reason."""
import importlib
import importlib.util
from typing import Optional

CLASSIFICATION_GUIDE = 'docs/en/user_guides/classification.md'


def mmpretrain_missing() -> Optional[str]:
    """Why ``mmpretrain.models`` cannot be imported in this environment (not
    installed, or an import it needs fails, such as torchvision), or None
    where it can."""
    if importlib.util.find_spec('mmpretrain') is None:
        return ('MMPretrain is not installed in this environment: '
                f'{CLASSIFICATION_GUIDE}')
    try:
        importlib.import_module('mmpretrain.models')
    except ImportError as error:
        import torch
        return (f'MMPretrain is installed but cannot be imported with torch '
                f'{torch.__version__} ({error}): {CLASSIFICATION_GUIDE}')
    return None
