"""The layout is the contract: a new family is a module beside the others plus a reference op
module beside theirs, and nothing else changes.

The toy family lives in a temporary folder that is added to the search path of the families
package and of the reference ops package (what dropping the two files into
``caffe2keras/families/`` and ``caffe2keras/reference/ops/`` does), so no file of the repository
is touched; discovery finds both modules, and a net using the new type converts and verifies.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from netfiles import input_layer, write_net

import caffe2keras.families
import caffe2keras.reference.ops
from caffe2keras import api
from caffe2keras.frontend.params import registry as params
from caffe2keras.ir.shapes import registry as shapes
from caffe2keras.keras_model import registry as builders
from caffe2keras.reference import registry as references

FAMILY = '''
"""A toy family: ToyAffine, y = scale * x + shift (power_param's scale and shift)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import param_parser
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes.registry import same_as_bottom, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder


@dataclass(frozen=True)
class ToyAffineParams:
    scale: float
    shift: float


@param_parser("ToyAffine")
def parse_toy_affine(layer_pb: Any) -> ToyAffineParams:
    p = layer_pb.power_param
    return ToyAffineParams(scale=float(p.scale), shift=float(p.shift))


shape_rule("ToyAffine")(same_as_bottom)


@builder("ToyAffine", emits="Rescaling", notes="a toy")
def build_toy_affine(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    p = layer.params
    rescale = keras.layers.Rescaling(p.scale, p.shift, name=ctx.names.make(layer.name))
    return BuildResult(outputs=(rescale(inputs[0]),))
'''

REFERENCE = '''
"""ToyAffine's reference: its own arithmetic."""

from caffe2keras.reference.registry import reference_op


@reference_op("ToyAffine")
def toy_affine(layer, inputs, dtype):
    return [(inputs[0] * layer.params.scale + layer.params.shift).astype(dtype)]
'''

NET = input_layer((1, 3, 5, 4)) + (
    'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
    "convolution_param { num_output: 2 kernel_size: 3 } }\n"
    'layer { name: "toy" type: "ToyAffine" bottom: "conv" top: "toy" '
    "power_param { scale: -1.5 shift: 0.25 } }\n"
)
MODULES = ("caffe2keras.families.toy_affine", "caffe2keras.reference.ops.toy_affine")


@pytest.fixture
def toy_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The toy family's two modules in ``tmp_path``, found by discovery; everything undone after."""
    builders.load_families()  # the built-ins first, into the real registries
    references.load()
    for module, name in (
        (params, "_PARSERS"),
        (shapes, "_RULES"),
        (builders, "_BUILDERS"),
        (builders, "_INFO"),
        (references, "_OPS"),
    ):
        monkeypatch.setattr(module, name, dict(getattr(module, name)))
    package = tmp_path / "toy"
    (package / "families").mkdir(parents=True)
    (package / "ops").mkdir()
    (package / "families" / "toy_affine.py").write_text(textwrap.dedent(FAMILY))
    (package / "ops" / "toy_affine.py").write_text(textwrap.dedent(REFERENCE))
    families_path = [*caffe2keras.families.__path__, str(package / "families")]
    ops_path = [*caffe2keras.reference.ops.__path__, str(package / "ops")]
    monkeypatch.setattr(caffe2keras.families, "__path__", families_path)
    monkeypatch.setattr(caffe2keras.reference.ops, "__path__", ops_path)
    monkeypatch.setattr(caffe2keras.families, "_LOADED", [])  # discover again
    monkeypatch.setattr(caffe2keras.reference.ops, "_LOADED", [])
    yield package
    for name in MODULES:
        sys.modules.pop(name, None)


def test_a_new_family_converts_and_verifies_touching_only_its_package(
    toy_family: Path, tmp_path: Path
) -> None:
    repo_families = sorted(p.name for p in Path(caffe2keras.families.__file__).parent.iterdir())
    rng = np.random.default_rng(3)
    blobs = {"conv": [rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2)]}
    proto, model = write_net(tmp_path, NET, blobs)
    result = api.convert(proto, model, tmp_path / "toy.h5", api.ConvertOptions())
    assert result.exit_code == 0 and result.written
    assert result.report is not None and result.report.passed
    assert "toy" in {row.blob for row in result.report.rows}
    assert builders.keras_info("ToyAffine") is not None  # inspect and the docs see it too
    assert set(MODULES) <= set(sys.modules)  # found by discovery, not by a list
    assert sorted(p.name for p in Path(caffe2keras.families.__file__).parent.iterdir()) == (
        repo_families
    )


def test_a_wrong_builder_in_a_new_family_is_caught_by_its_reference(
    toy_family: Path, tmp_path: Path
) -> None:
    """The reference is written apart: a builder's mistake shows as a failed verification."""
    family = toy_family / "families" / "toy_affine.py"
    family.write_text(family.read_text().replace("p.scale, p.shift", "p.scale, -p.shift"))
    proto, model = write_net(tmp_path, NET, {"conv": [np.ones((2, 3, 3, 3)), np.zeros(2)]})
    result = api.convert(proto, model, tmp_path / "toy.h5", api.ConvertOptions())
    assert result.exit_code == 1 and not result.written
