from . import decode_heads, layers  # noqa: F401
