"""The adapters of other papers' modules (``layers/peers/``) refuse
values that would run silently wrong, naming the argument and the value."""
import pytest

from mmctx.models.layers import (DualAttention, EMAUnit, PyramidBlock,
                                 PyramidNonLocal)

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize(
    'build, words', [
        (lambda: PyramidNonLocal(8, key_pool_scales=(0, )),
         r'key_pool_scales must be a non-empty sequence of positive ints, '
         r'but got \(0,\)'),
        (lambda: PyramidNonLocal(8, key_pool_scales=5), 'key_pool_scales .*5'),
        (lambda: PyramidNonLocal(8, key_pool_scales=()),
         r'key_pool_scales .*\(\)'),
        (lambda: PyramidNonLocal(8, channels=-3),
         'channels must be a positive int, but got -3'),
        (lambda: DualAttention(8, pam_channels=0),
         'pam_channels must be a positive int, but got 0'),
        (lambda: DualAttention(8, pam_channels=-1),
         'pam_channels must be a positive int, but got -1'),
        (lambda: EMAUnit(8, num_bases=4, momentum=5.0),
         r'momentum must be a number in \[0, 1\], but got 5.0'),
        (lambda: EMAUnit(8, num_bases=4, momentum='0.1'),
         r"momentum must be a number in \[0, 1\], but got '0.1'"),
        (lambda: PyramidBlock(3, 'ppm'),
         r'in_channels must be at least 4 \(each branch has in_channels // '
         r'4\), but got 3'),
        (lambda: PyramidBlock(-1, 'aspp'),
         'in_channels must be a positive int, but got -1'),
    ],
    ids=range(10))
def test_bad_values_are_refused_by_name(build, words):
    with pytest.raises(ValueError, match=words):
        build()


@pytest.mark.parametrize(
    'build', [
        lambda: EMAUnit(8, num_bases=4, norm_cfg='BN'),
        lambda: PyramidBlock(8, 'ppm', norm_cfg='BN'),
        lambda: PyramidNonLocal(8, norm_cfg='BN'),
    ],
    ids=['EMAUnit', 'PyramidBlock', 'PyramidNonLocal'])
def test_a_norm_cfg_that_is_not_a_dict_is_named(build):
    with pytest.raises(
            TypeError, match='^norm_cfg must be None or a dict with a type'):
        build()


def test_the_defaults_still_build():
    assert PyramidNonLocal(8, key_pool_scales=[1, 2]).apnb is not None
    assert DualAttention(16).pam is not None
    assert EMAUnit(8, num_bases=4, momentum=1).ema is not None
