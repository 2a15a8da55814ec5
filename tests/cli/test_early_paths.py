"""Fail before the work: every path on a command line is checked first, a usage error (exit 2)
naming the option and the path, in well under a second and before TensorFlow or Keras is
imported. Missing or folder-instead-of-file inputs are usage errors like a missing --input or
--plugin file always were; an existing input that cannot be parsed stays exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from caffe2keras.cli import main
from caffe2keras.errors import UsageError
from caffe2keras.runtime import paths

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")
HEAVY = {"tensorflow", "keras", "h5py", "jax"}

# Runs every case in one fresh interpreter; times each invocation (not the interpreter start).
PROBE = """
import json, sys, time
from click.testing import CliRunner
from caffe2keras.cli import main
results = []
for args in json.loads(sys.argv[1]):
    start = time.perf_counter()
    result = CliRunner().invoke(main, args)
    results.append({"code": result.exit_code, "output": result.output,
                    "seconds": time.perf_counter() - start})
print(json.dumps({"results": results, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def cases(tmp: Path) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    """name -> (arguments, fragments the message must contain)."""
    (tmp / "folder.h5").mkdir()
    (tmp / "a_file").write_text("")
    good = ["convert", PROTO, MODEL, "-o"]
    out = str(tmp / "out.h5")
    missing = str(tmp / "missing")
    listed = tmp / "models.json"
    entry = {"name": "tiny", "prototxt": PROTO, "caffemodel": MODEL, "outputs": ["tiny.h5"]}
    listed.write_text(json.dumps({"models": [entry]}))
    return {
        "output folder missing": (
            [*good, f"{missing}/out.h5"],
            ("-o/--output", f"{missing}/out.h5", "does not exist"),
        ),
        "output folder is a file": (
            [*good, str(tmp / "a_file" / "out.h5")],
            ("-o/--output", "a_file", "is a file"),
        ),
        # a folder where a file is expected: click's own check, before ours (still exit 2)
        "output is a folder": ([*good, str(tmp / "folder.h5")], ("--output", "folder.h5")),
        "prototxt missing": (
            ["convert", f"{missing}.prototxt", MODEL, "-o", out],
            ("prototxt", f"{missing}.prototxt", "no such file"),
        ),
        "prototxt is a folder": (
            ["convert", str(tmp), MODEL, "-o", out],
            ("PROTOTXT", str(tmp), "is a directory"),
        ),
        "caffemodel missing": (
            ["convert", PROTO, f"{missing}.caffemodel", "-o", out],
            ("caffemodel", f"{missing}.caffemodel", "no such file"),
        ),
        "--input missing": (
            [*good, out, "--input", f"data={missing}.npy"],
            ("--input", f"{missing}.npy", "no such file"),
        ),
        "--image missing": (
            [*good, out, "--image", f"{missing}.png"],
            ("--image", f"{missing}.png", "no such file"),
        ),
        "--plugin missing": (
            [*good, out, "--plugin", f"{missing}.py"],
            ("--plugin", f"{missing}.py", "no such file"),
        ),
        "--report folder missing": (
            [*good, out, "--report", f"{missing}/r.json"],
            ("--report", f"{missing}/r.json", "does not exist"),
        ),
        "--report-md is a folder": (
            [*good, out, "--report-md", str(tmp)],
            ("--report-md", str(tmp), "is a directory"),
        ),
        "--manifest folder missing": (
            [*good, out, "--manifest", f"{missing}/m.json"],
            ("--manifest", "does not exist"),
        ),
        "verify: model missing": (
            ["verify", PROTO, MODEL, f"{missing}.h5"],
            ("model", f"{missing}.h5", "no such file"),
        ),
        "verify: report folder missing": (
            ["verify", PROTO, MODEL, PROTO, "--report", f"{missing}/r.json"],
            ("--report", "does not exist"),
        ),
        "inspect: prototxt missing": (
            ["inspect", f"{missing}.prototxt"],
            ("prototxt", f"{missing}.prototxt", "no such file"),
        ),
        "inspect: caffemodel missing": (
            ["inspect", PROTO, f"{missing}.caffemodel"],
            ("caffemodel", "no such file"),
        ),
        "convert-all: list missing": (
            ["convert-all", f"{missing}.toml"],
            (f"{missing}.toml",),
        ),
        "convert-all: --out-dir under a file": (
            ["convert-all", str(listed), "--out-dir", str(tmp / "a_file" / "out")],
            ("--out-dir", "a_file", "is a file"),
        ),
        "convert-all: --report folder missing": (
            ["convert-all", str(listed), "--report", f"{missing}/r.json"],
            ("--report", f"{missing}/r.json", "does not exist"),
        ),
    }


def test_every_bad_path_is_a_fast_usage_error_before_keras(tmp_path) -> None:
    table = cases(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([args for args, _ in table.values()])],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    for (name, (_, fragments)), result in zip(table.items(), got["results"]):
        assert result["code"] == 2, (name, result["output"])
        message = result["output"].strip().splitlines()[-1]  # ours: one "error: ..." line
        for fragment in fragments:
            assert fragment in message, (name, fragment, message)
        assert result["seconds"] < 1.0, (name, result["seconds"])  # milliseconds in practice
    assert not set(got["modules"]) & HEAVY, sorted(set(got["modules"]) & HEAVY)
    assert not (tmp_path / "missing").exists()  # nothing was created on the way


def test_an_unwritable_output_folder_is_named(tmp_path, monkeypatch) -> None:
    # os.access, not chmod: root (CI containers) may write anywhere, the check must still hold
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == folder else real_access(p, mode)
    )
    result = CliRunner().invoke(main, ["convert", PROTO, MODEL, "-o", str(folder / "x.h5")])
    assert result.exit_code == 2, result.output
    assert "-o/--output" in result.output and "is not writable" in result.output
    with pytest.raises(UsageError, match="--out-dir .*is not writable"):
        paths.output_folder(folder / "new" / "deeper", "--out-dir")


def test_paths_that_are_fine_pass(tmp_path) -> None:
    paths.check_command({"input_npy": ()}, PROTO, MODEL, output=str(tmp_path / "x.h5"))
    paths.output_folder(tmp_path / "new" / "deeper", "--out-dir")  # created later: fine
    (tmp_path / "a=b.npy").write_text("")  # a path with '=' in it that exists is a path
    paths.check_options({"input_npy": (str(tmp_path / "a=b.npy"),)})
    with pytest.raises(UsageError, match="--input 'b.npy.gone': no such file"):
        paths.check_options({"input_npy": (str(tmp_path / "a=b") + ".npy.gone",)})


def test_a_missing_list_entry_file_stays_the_models_own_failure(tmp_path) -> None:
    """A path inside a convert-all list is checked per model: the batch goes on (exit 3)."""
    listed = tmp_path / "models.json"
    entry = {"name": "gone", "prototxt": "gone.prototxt", "caffemodel": MODEL}
    listed.write_text(json.dumps({"models": [{**entry, "outputs": ["gone.h5"]}]}))
    result = CliRunner().invoke(main, ["convert-all", str(listed)])
    assert result.exit_code == 3, result.output
    assert "gone.prototxt" in result.output
