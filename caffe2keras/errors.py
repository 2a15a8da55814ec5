"""The error taxonomy. Every failure the user can cause is one of these.

Each class carries the process exit code the CLI uses for it; messages are complete sentences that
name the file, the layer and the field wherever they are known. Only ``cli.py`` turns them into
output, so the library raises and never prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_UNSUPPORTED = 4


class Caffe2KerasError(Exception):
    """Base class of all errors the converter raises on purpose."""

    exit_code: int = EXIT_BAD_INPUT


class UsageError(Caffe2KerasError):
    """Options that contradict each other or name things that do not exist."""

    exit_code = EXIT_USAGE


class OutputError(UsageError):
    """An output or report that cannot be written: a missing or read-only folder, a full disk."""


class ParseError(Caffe2KerasError):
    """A file that cannot be read as what it claims to be (prototxt or caffemodel)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = path or ""
        if path is not None and line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.line = line
        self.column = column
        self.detail = message


class CaffemodelError(ParseError):
    """A caffemodel whose bytes are not a valid NetParameter (truncated, corrupted, wrong file)."""


class ValidationError(Caffe2KerasError):
    """A well-formed file whose content is inconsistent (shapes, blob counts, bottoms, params)."""

    def __init__(
        self,
        message: str,
        *,
        layer: str | None = None,
        field: str | None = None,
        path: str | None = None,
    ) -> None:
        where = [f"layer '{layer}'"] if layer is not None else []
        where += [f"field '{field}'"] if field is not None else []
        prefix = ", ".join(where)
        text = f"{prefix}: {message}" if prefix else message
        super().__init__(f"{path}: {text}" if path else text)
        self.layer = layer
        self.field = field
        self.path = path
        self.detail = message

    def in_file(self, path: str) -> ValidationError:
        """The same error, naming the file it is about (unless it names one already)."""
        if self.path is not None:
            return self
        return ValidationError(self.detail, layer=self.layer, field=self.field, path=path)


class ForeignCaffemodelError(ValidationError):
    """A caffemodel whose blobs fit few of the prototxt's layers: another net's weights. The
    message names both files once they are known (:meth:`naming`)."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message, field="blobs", path=path)

    def naming(self, prototxt: str, caffemodel: str) -> ForeignCaffemodelError:
        """The error naming the caffemodel and the prototxt it does not belong to."""
        return ForeignCaffemodelError(f"{self.detail} (prototxt: {prototxt})", path=caffemodel)


class UnsupportedLayersError(Caffe2KerasError):
    """One or more layer types (or parameter values) that the converter cannot express."""

    exit_code = EXIT_UNSUPPORTED

    def __init__(
        self,
        by_type: Mapping[str, Iterable[str]],
        reason: str | None = None,
        *,
        hints: Mapping[str, str] | None = None,
        lines: Mapping[str, Iterable[int]] | None = None,
        path: str | None = None,
    ) -> None:
        self.by_type = {t: tuple(names) for t, names in sorted(by_type.items())}
        self.reason = reason
        self.hints = dict(hints or {})  # type -> "did you mean 'X'?"
        self.lines = {t: tuple(n) for t, n in (lines or {}).items()}  # type -> prototxt lines
        self.path = path
        parts = []
        for ltype, names in self.by_type.items():
            shown = ", ".join(f"'{n}'" for n in names[:5])
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            parts.append(f"{ltype} (used by {shown}{more})")
        message = f"unsupported layer types: {'; '.join(parts)}"
        for ltype in self.by_type:
            where = self._where(ltype)
            if where:
                message += f". {where}"
        if reason:
            message += f". {reason}"
        super().__init__(message)

    def _where(self, ltype: str) -> str:
        """'X' is used at line 7 of net.prototxt; did you mean 'Y'? (as far as known)"""
        text = ""
        lines = self.lines.get(ltype, ())
        if lines:
            word = "line" if len(lines) == 1 else "lines"
            more = " and more" if len(lines) > 5 else ""
            text = f"'{ltype}' is used at {word} {', '.join(map(str, lines[:5]))}{more}"
            text += f" of {self.path}" if self.path else ""
        hint = self.hints.get(ltype)
        if hint:
            text = f"{text}; {hint}" if text else f"'{ltype}': {hint}"
        return text

    def located(self, path: str, lines: Mapping[str, Iterable[int]]) -> UnsupportedLayersError:
        """The same error, saying where in the prototxt ``path`` each type is used."""
        return UnsupportedLayersError(
            self.by_type, self.reason, hints=self.hints, lines=lines, path=path
        )


class UnsupportedParameterError(Caffe2KerasError):
    """A supported layer type with a parameter value the converter cannot express exactly."""

    exit_code = EXIT_UNSUPPORTED

    def __init__(self, message: str, *, layer: str, field: str) -> None:
        super().__init__(f"layer '{layer}', field '{field}': {message}")
        self.layer = layer
        self.field = field


class ExportError(Caffe2KerasError):
    """A verified Keras model that a deployment format cannot hold (TFLite's converter refused)."""

    exit_code = EXIT_UNSUPPORTED
