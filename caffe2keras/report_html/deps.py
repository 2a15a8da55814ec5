"""The optional plotting dependency, checked before any work starts."""

from __future__ import annotations

from types import ModuleType

from caffe2keras.errors import UsageError

EXTRA = "pip install 'caffe2keras[report]'"


def require_matplotlib() -> ModuleType:
    """matplotlib, or a usage error naming the extra that brings it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise UsageError(
            f"--report-html draws its plot with matplotlib, which is not installed: {EXTRA}"
        ) from exc
    return matplotlib
