"""The bf16 instructions check behind the --amp warning on the CPU."""
import pytest

from mmctx.engine.cpu_bf16 import BF16_FLAGS, slow_bf16_message

ZEN3 = ('processor\t: 0\nmodel name\t: AMD EPYC 7B13\n'
        'flags\t\t: fpu sse2 avx avx2 fma bmi2 sha_ni\n')
SAPPHIRE_RAPIDS = 'flags\t: avx2 avx512f avx512_bf16 amx_tile amx_bf16\n'
NEOVERSE_V1 = 'Features\t: fp asimd sve bf16 i8mm\n'
NEOVERSE_N1 = 'Features\t: fp asimd aes pmull crc32\n'


@pytest.mark.smoke
@pytest.mark.parametrize('cpuinfo', [ZEN3, NEOVERSE_N1])
def test_a_cpu_without_bf16_instructions_is_named(cpuinfo):
    message = slow_bf16_message(cpuinfo)
    assert 'none of the bf16 instructions avx512_bf16, amx_bf16, bf16' in \
        message
    assert '/proc/cpuinfo' in message and '--amp' in message


@pytest.mark.smoke
@pytest.mark.parametrize('cpuinfo', [SAPPHIRE_RAPIDS, NEOVERSE_V1, '', 'x'])
def test_no_message_with_bf16_instructions_or_unknown_features(cpuinfo):
    assert slow_bf16_message(cpuinfo) is None


@pytest.mark.smoke
def test_flags_are_whole_words():
    # avx512_bf16 must not be found inside another flag's name
    assert slow_bf16_message('flags: avx512_bf16x notbf16\n') is not None
    assert set(BF16_FLAGS) >= {'avx512_bf16', 'amx_bf16'}
