"""Plugins end to end through the CLI: three unknown layer types fail together (exit 4, no
output); the example ShuffleChannel plugin makes its type convert and verify (exit 0)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from netfiles import input_layer, write_net
from plugin_fixtures import EXAMPLE, REPO, isolated_registries  # noqa: F401

from caffe2keras.cli import main

pytestmark = pytest.mark.usefixtures("isolated_registries")

CONV = (
    'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
    "convolution_param { num_output: 6 kernel_size: 3 pad: 1 } }\n"
)
SHUFFLE = (
    'layer { name: "shuffle" type: "ShuffleChannel" bottom: "conv" top: "shuffle"\n'
    "  shuffle_channel_param { group: 3 } }\n"
    'layer { name: "relu" type: "ReLU" bottom: "shuffle" top: "shuffle" }\n'
)
OTHERS = (  # fork types no issue adds
    'layer { name: "roi" type: "ROIAlign" bottom: "shuffle" top: "roi" }\n'
    'layer { name: "corr" type: "Correlation" bottom: "roi" top: "corr" }\n'
)


def _files(tmp_path, text: str):
    rng = np.random.default_rng(5)
    blobs = {"conv": [rng.normal(size=(6, 4, 3, 3)), rng.normal(size=6)]}
    return write_net(tmp_path, input_layer((1, 4, 5, 7)) + CONV + text, blobs)


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_three_unknown_types_fail_in_one_message(tmp_path) -> None:
    proto, model = _files(tmp_path, SHUFFLE + OTHERS)
    out = tmp_path / "o.h5"
    result = invoke("convert", proto, model, "-o", out)
    assert result.exit_code == 4
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    for name in ("ShuffleChannel", "ROIAlign", "Correlation", "'shuffle'", "'roi'", "'corr'"):
        assert name in errors[0]
    assert not out.exists()


def test_the_plugin_handles_its_type_and_the_rest_stay_unsupported(tmp_path) -> None:
    proto, model = _files(tmp_path, SHUFFLE + OTHERS)
    result = invoke("convert", proto, model, "-o", tmp_path / "o.h5", "--plugin", EXAMPLE)
    assert result.exit_code == 4
    assert "ROIAlign" in result.output and "Correlation" in result.output
    assert "ShuffleChannel" not in result.output


@pytest.mark.parametrize("suffix", [".h5", ".keras", ".weights.h5"])
def test_with_the_plugin_the_net_converts_and_verifies(tmp_path, suffix: str) -> None:
    proto, model = _files(tmp_path, SHUFFLE)
    out = tmp_path / f"model{suffix}"
    result = invoke("convert", proto, model, "-o", out, "--plugin", EXAMPLE)
    assert result.exit_code == 0, result.output
    assert "EQUIVALENT" in result.output and "ShuffleChannel" in result.output and out.exists()
    result = invoke("verify", proto, model, out, "--plugin", EXAMPLE)
    assert result.exit_code == 0, result.output


def test_the_keras_model_shuffles_like_caffe(tmp_path) -> None:
    import keras

    proto, model = _files(tmp_path, SHUFFLE)
    out = tmp_path / "m.keras"
    assert invoke("convert", proto, model, "-o", out, "--plugin", EXAMPLE).exit_code == 0
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    conv = keras.Model(loaded.inputs, loaded.get_layer("conv").output)
    x = np.random.default_rng(1).normal(size=(2, 5, 7, 4)).astype(np.float32)
    c = np.asarray(conv([x]))  # NHWC
    expected = np.maximum(c.reshape(2, 5, 7, 3, 2).swapaxes(3, 4).reshape(2, 5, 7, 6), 0)
    np.testing.assert_array_equal(np.asarray(loaded(x)), expected)


def test_a_bad_plugin_is_a_usage_error_naming_the_file(tmp_path) -> None:
    proto, model = _files(tmp_path, SHUFFLE)
    bad = tmp_path / "my_layers.py"
    bad.write_text("import not_a_module_anywhere\n")
    result = invoke("convert", proto, model, "-o", tmp_path / "o.h5", "--plugin", bad)
    assert result.exit_code == 2
    assert "my_layers.py" in result.output and "ModuleNotFoundError" in result.output
    result = invoke("convert", proto, model, "-o", tmp_path / "o.h5", "--plugin", "nope.py")
    assert result.exit_code == 2 and "nope.py" in result.output


def test_the_readme_plugin_example_works(tmp_path) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Plugins") :]
    code = section[section.index("```python\n") + 10 : section.index("```\n", 10)]
    plugin = tmp_path / "readme_plugin.py"
    plugin.write_text(code)
    proto, model = _files(tmp_path, SHUFFLE)
    result = invoke("convert", proto, model, "-o", tmp_path / "o.h5", "--plugin", plugin)
    assert result.exit_code == 0, result.output


def test_inspect_loads_plugin_files_and_reads_their_custom_fields(tmp_path) -> None:
    proto, _ = _files(tmp_path, SHUFFLE)
    result = invoke("inspect", proto, "--json")
    assert result.exit_code == 4  # without the plugin ShuffleChannel is unsupported
    result = invoke("inspect", proto, "--json", "--plugin", EXAMPLE)
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)["layers"]}
    assert rows["shuffle"]["keras"].startswith("custom (plugin '")
    assert "shuffle_channel.py" in rows["shuffle"]["keras"]
    assert rows["shuffle"]["shapes"] == [[1, 6, 5, 7]]
    assert rows["relu"]["shapes"] == [[1, 6, 5, 7]]
