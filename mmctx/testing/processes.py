"""For tests that start processes."""
import socket
import subprocess


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a
    distributed launch's rendezvous)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def output_tail(result: subprocess.CompletedProcess) -> str:
    """The last 3000 characters of a finished process' stdout and of its
    stderr, for an assertion message."""
    return result.stdout[-3000:] + result.stderr[-3000:]
