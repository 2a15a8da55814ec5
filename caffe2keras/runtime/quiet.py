"""Keep TensorFlow's native start-up chatter off stderr, without hiding anything else.

Importing TensorFlow loads two native libraries that each log, straight to file descriptor 2 and
before anything reads ``TF_CPP_MIN_LOG_LEVEL``, absl's preamble ``WARNING: All log messages
before absl::InitializeLog() is called are written to STDERR`` and an INFO line ``oneDNN custom
operations are on``. Setting ``TF_ENABLE_ONEDNN_OPTS=0`` would silence the second by changing
which kernels run (numerics), so instead :func:`install` captures descriptor 2 while the
``tensorflow`` package is imported, wherever that import happens, and writes back every line that
is not known noise: absl's preamble and INFO-severity absl lines (``I<mmdd> <time> <thread>
<file>:<line>] ...``) are dropped; warnings, errors, Python warnings and tracebacks are kept.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from types import ModuleType
from typing import Any

# Packages whose import writes native log lines to descriptor 2.
NOISY_PACKAGES = ("tensorflow",)

_NOISE = (
    re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written"),
    # absl's INFO severity: I<mmdd> <hh:mm:ss.micros> <thread id> <file>:<line>] <message>
    re.compile(r"I\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\] "),
    # the second line of cpu_feature_guard's INFO message (shown without TF_CPP_MIN_LOG_LEVEL)
    re.compile(r"To enable the following instructions: .*rebuild TensorFlow"),
)


def is_noise(line: str) -> bool:
    """True for a line of TensorFlow's native start-up logging that carries no problem."""
    return any(p.match(line) for p in _NOISE)


def without_noise(text: str) -> str:
    """``text`` without its noise lines (line ends kept)."""
    return "".join(line for line in text.splitlines(keepends=True) if not is_noise(line))


@contextmanager
def filtered_stderr() -> Iterator[None]:
    """Capture file descriptor 2 for the block, then write back everything but noise."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no usable descriptor 2: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with suppress(AttributeError, OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = without_noise(capture.read().decode("utf-8", "replace"))
            if kept:
                os.write(2, kept.encode("utf-8"))


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader's ``exec_module`` with descriptor 2 filtered."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        # the package sees its own loader, as if nothing had been wrapped
        module.__loader__ = self.inner
        if module.__spec__ is not None:
            module.__spec__.loader = self.inner
        with filtered_stderr():
            self.inner.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds :data:`NOISY_PACKAGES` with the other finders and wraps their loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in NOISY_PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


_FINDER = _QuietFinder()


def install() -> None:
    """Filter the native start-up logging of every later TensorFlow import in this process."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def installed() -> bool:
    """Whether :func:`install` was called in this process (batch workers follow the parent)."""
    return _FINDER in sys.meta_path


@contextmanager
def keras_variable_copy_warning_silenced() -> Iterator[None]:
    """Keras 3's ``Variable.__array__`` lacks numpy 2's ``copy`` keyword, so numpy warns
    (DeprecationWarning) once per variable whenever Keras converts one itself (``model.save``,
    ``get_weights``): thousands of lines per zoo model, nothing a user can act on. Hidden around
    those calls only."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="__array__ implementation doesn't accept a copy keyword",
            category=DeprecationWarning,
        )
        yield
