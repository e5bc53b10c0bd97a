"""Whether this CPU has bf16 instructions: without them bf16 autocast
(``--amp`` on the CPU) runs on slow generic kernels, 9 to 100 times slower
than fp32 in training (docs/en/advanced_guides/benchmark.md)."""
import functools
import warnings
from typing import Optional

#: x86 (AVX-512 BF16, AMX) and Arm (FEAT_BF16) bf16 instructions, as
#: /proc/cpuinfo names them.
BF16_FLAGS = ('avx512_bf16', 'amx_bf16', 'bf16')
CPUINFO = '/proc/cpuinfo'


def _cpu_flags(cpuinfo: str) -> Optional[set]:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(':')
        if key.strip() in ('flags', 'Features'):  # x86, Arm
            return set(value.split())
    return None


def slow_bf16_message(cpuinfo: Optional[str] = None) -> Optional[str]:
    """Why bf16 autocast will be slow on this CPU, or None when it has bf16
    instructions or its features cannot be read.

    Args:
        cpuinfo (str, optional): the text of /proc/cpuinfo; read when None.
    """
    if cpuinfo is None:
        try:
            with open(CPUINFO) as f:
                cpuinfo = f.read()
        except OSError:
            return None
    flags = _cpu_flags(cpuinfo)
    if flags is None or flags & set(BF16_FLAGS):
        return None
    return ('bf16 autocast on this CPU runs on slow generic kernels: it has '
            f'none of the bf16 instructions {", ".join(BF16_FLAGS)} '
            f'(checked in {CPUINFO}). Training was measured 9 to 100 times '
            'slower than fp32 on such a CPU (docs/en/advanced_guides/'
            'benchmark.md); drop --amp unless memory is what limits you.')


@functools.lru_cache(maxsize=None)
def warn_if_slow_bf16() -> Optional[str]:
    """Warn, once per process, when :func:`slow_bf16_message` has a reason;
    returns it."""
    message = slow_bf16_message()
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=3)
    return message
