"""Ctrl-C in the worker pool's parent, without windows where it is lost.

Python raises ``KeyboardInterrupt`` from its SIGINT handler between two bytecodes of the main
thread. Two places make that unreliable for a parent that waits on worker processes:

- mid-spawn: raised inside ``Process.start()`` after the child exists but before the parent
  recorded it, the child is neither joined nor killed. :func:`sigint_blocked` holds SIGINT
  pending over such a block (it is delivered, and raises, when the block ends); a child
  spawned inside it inherits the blocked mask across exec, so it cannot die of SIGINT before
  its own handler is installed, and calls :func:`unblock_sigint` then;
- dropped: raised inside a finalizer or garbage-collector callback, the exception is reported
  as "Exception ignored" and discarded, and the parent would go on waiting for workers that
  will never report (they block until Ctrl-C, or take minutes). :class:`SigintWakeup` gives the
  wait a socket that the interpreter's C-level handler writes the signal number to
  (``signal.set_wakeup_fd``) whatever happens to the exception; :meth:`SigintWakeup.check`
  raises ``KeyboardInterrupt`` when it says SIGINT.

Both need the main thread (elsewhere they do nothing; signals are only handled there anyway).
A process-directed SIGINT goes to a thread that does not block it: blocking holds it only in a
process whose other threads block it too, or that has none (the ``convert-all`` parent).
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

_SIGINT = {signal.SIGINT}


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _can_mask() -> bool:
    return hasattr(signal, "pthread_sigmask")


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT held pending for the block (delivered when it ends); children spawned inside
    start with it blocked."""
    if not (_can_mask() and _main_thread()):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGINT)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def unblock_sigint() -> None:
    """In a spawned worker, once its SIGINT handler is installed: a Ctrl-C that arrived while
    it started is delivered now."""
    if _can_mask():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGINT)


class SigintWakeup:
    """A socket that becomes readable when a signal arrives, for ``multiprocessing``'s
    ``wait``: ``fds`` (empty outside the main thread), :meth:`check` after each wait,
    :meth:`close` at the end (restores any earlier wake-up descriptor)."""

    def __init__(self) -> None:
        self.fds: list[socket.socket] = []
        self._previous = -1
        if not _main_thread():
            return
        read, write = socket.socketpair()
        read.setblocking(False)
        write.setblocking(False)
        try:
            self._previous = signal.set_wakeup_fd(write.fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main interpreter's main thread after all
            read.close()
            write.close()
            return
        self._read, self._write = read, write
        self.fds = [read]

    def check(self, ready: Sequence[object]) -> None:
        """Raise ``KeyboardInterrupt`` when the socket is among ``ready`` and says SIGINT
        (other signals' bytes are drained and ignored)."""
        if not self.fds or self._read not in ready:
            return
        try:
            data = self._read.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        if signal.SIGINT.value in data:
            raise KeyboardInterrupt

    def close(self) -> None:
        if not self.fds:
            return
        signal.set_wakeup_fd(self._previous)
        self._read.close()
        self._write.close()
        self.fds = []
