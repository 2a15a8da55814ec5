"""Model files never run code: no pickle anywhere, Python layers refused without importing their
module, NumPy never unpickles, Keras models only load in safe mode."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus import MODEL, PROTO

from caffe2keras.cli import main

PACKAGE = Path(__file__).resolve().parents[2] / "caffe2keras"
BANNED_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "dill",
    "joblib",
    "marshal",
    "shelve",
    "cloudpickle",
}
MARKER_MODULE = "c2k_marker_module"


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_proto" not in p.parts)


def _keyword(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def _call_problems(call: ast.Call) -> list[str]:
    func, out = call.func, []
    if isinstance(func, ast.Name) and func.id in ("eval", "exec", "__import__"):
        out.append(f"calls {func.id}")
    if not isinstance(func, ast.Attribute):
        return out
    numpy_load = func.attr == "load" and ast.unparse(func.value) in ("np", "numpy")
    if numpy_load and _keyword(call, "allow_pickle") is not False:
        out.append("np.load without allow_pickle=False")
    if func.attr == "load_model" and _keyword(call, "safe_mode") is not True:
        out.append("load_model without safe_mode=True")
    return out


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [
                f"{where}: imports {n}" for n in names if (n or "").split(".")[0] in BANNED_MODULES
            ]
        if not isinstance(node, ast.Call):
            continue
        found += [f"{where}: {p}" for p in _call_problems(node)]
    return found


def test_no_pickle_eval_or_unsafe_loading_in_the_package() -> None:
    sources = _sources()
    assert len(sources) > 20
    problems = [p for path in sources for p in _problems(path)]
    assert not problems, "\n".join(problems)


def test_python_layer_is_refused_and_its_module_never_imported(tmp_path: Path, monkeypatch) -> None:
    marker = tmp_path / "MARKER"
    (tmp_path / f"{MARKER_MODULE}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
        "class Marker:\n    def __init__(self, *a, **k):\n"
        f"        Path({str(marker)!r}).write_text('instantiated')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    proto = tmp_path / "net.prototxt"
    proto.write_text(
        PROTO + 'layer { name: "py" type: "Python" bottom: "prob" top: "py" '
        f'python_param {{ module: "{MARKER_MODULE}" layer: "Marker" param_str: "x" }} }}\n'
    )
    weights = tmp_path / "net.caffemodel"
    weights.write_bytes(MODEL)
    out = tmp_path / "out.h5"
    result = CliRunner().invoke(
        main, ["convert", str(proto), str(weights), "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 4, result.output
    assert "Python (used by 'py')" in result.output and "never imported" in result.output
    assert not marker.exists() and MARKER_MODULE not in sys.modules
    assert not out.exists()


@pytest.mark.parametrize("command", [["inspect"], ["verify"]])
def test_other_commands_never_import_python_layers(tmp_path: Path, monkeypatch, command) -> None:
    marker = tmp_path / "MARKER"
    (tmp_path / f"{MARKER_MODULE}.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    proto = tmp_path / "net.prototxt"
    proto.write_text(
        PROTO + 'layer { name: "py" type: "Python" bottom: "prob" top: "py" '
        f'python_param {{ module: "{MARKER_MODULE}" layer: "Marker" }} }}\n'
    )
    weights = tmp_path / "net.caffemodel"
    weights.write_bytes(MODEL)
    args = [*command, str(proto), str(weights)]
    if command == ["verify"]:
        args.append(str(tmp_path / "missing.h5"))
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code in (0, 2, 4), result.output
    assert not marker.exists() and MARKER_MODULE not in sys.modules
