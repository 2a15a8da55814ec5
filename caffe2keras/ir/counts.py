"""One set of numbers for ``inspect``, ``convert`` and ``verify``, each with its label.

A Caffe net in a given state has *Caffe layers* (data and Input layers are its inputs, not
counted; layers the phase rules exclude are not either). Of these, Split/Dropout (identities at
test time) and Silence are *removed*, and each BatchNorm+Scale pair becomes one node: the
*converter nodes* are what the builders turn into Keras layers (the Keras model has more layers:
its inputs and helpers such as padding). Verification compares every *blob* the nodes produce
(in-place versions included) and the inputs. *Parameters* are the values in the learned blobs as
Caffe stores them; BatchNorm's third blob, the moving-average factor, is among them, while Keras
folds it into the mean and variance (so the Keras model counts one value fewer per BatchNorm).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from caffe2keras.ir.graph import Graph, Layer, Shape


@dataclass(frozen=True)
class NetCounts:
    """What ``inspect``, ``convert`` and ``verify`` count, derived in one place."""

    caffe_layers: int  # layers of the net in this state (Input/data layers are inputs)
    removed: int  # Split, Dropout and Silence layers (identity or no-op at test time)
    fusions: int  # BatchNorm+Scale pairs, each one converter node
    inputs: int  # net inputs
    blobs: int  # blobs verification compares: the inputs and every top of every node
    parameters: int  # values in the learned blobs, as Caffe stores them
    bn_factors: int  # of which BatchNorm moving-average factors (folded away in Keras)

    @property
    def nodes(self) -> int:
        """Converter nodes: Caffe layers less the removed ones and one per fusion."""
        return self.caffe_layers - self.removed - self.fusions

    def layers_text(self) -> str:
        """'547 Caffe layers -> 426 converter nodes (121 BatchNorm+Scale pairs fused)'."""
        how = [f"{_n(self.fusions, 'BatchNorm+Scale pair')} fused"]
        if self.removed:
            how.append(f"{_n(self.removed, 'Split/Dropout/Silence layer')} removed")
        return (
            f"{_n(self.caffe_layers, 'Caffe layer')} -> {_n(self.nodes, 'converter node')} "
            f"({', '.join(how)})"
        )

    def blobs_text(self) -> str:
        """'427 blobs (the 1 input and the tops of the 426 converter nodes)'."""
        return blobs_text(self.blobs, self.inputs, self.nodes)

    def parameters_text(self) -> str:
        """'8,062,625 parameters in learned blobs (121 of them BatchNorm moving-average ...)'."""
        text = f"{_n(self.parameters, 'parameter')} in learned blobs"
        if self.bn_factors:
            text += (
                f" ({self.bn_factors:,} of them BatchNorm moving-average "
                f"{'factor' if self.bn_factors == 1 else 'factors'}, which Keras folds into the "
                f"means and variances)"
            )
        return text


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def blobs_text(blobs: int, inputs: int, nodes: int) -> str:
    """'427 blobs (the 1 input and the tops of the 426 converter nodes)'."""
    inputs_text, nodes_text = _n(inputs, "input"), _n(nodes, "converter node")
    return f"{_n(blobs, 'blob')} (the {inputs_text} and the tops of the {nodes_text})"


def count_net(
    checked: Graph,
    reference: Graph,
    fusions: int,
    blob_shapes: Callable[[Layer], Sequence[Shape]],
) -> NetCounts:
    """The counts of a net from its graph right after the blob check (Caffe's layers, plus any a
    pass inserted, such as the Scale standing for NVCaffe's scale/bias), its reference graph
    (identities removed), the number of BatchNorm+Scale fusions, and each layer's learned blob
    shapes (the caffemodel's, or what the params demand when there is none)."""
    shapes = {layer.name: tuple(blob_shapes(layer)) for layer in checked.layers}
    parameters = sum(math.prod(s) for blobs in shapes.values() for s in blobs)
    factors = sum(
        math.prod(shapes[layer.name][2])
        for layer in checked.layers
        if layer.type == "BatchNorm" and len(shapes[layer.name]) == 3
    )
    tops = sum(len(layer.tops) for layer in reference.layers)
    return NetCounts(
        caffe_layers=len(checked.layers),
        removed=len(checked.layers) - len(reference.layers),
        fusions=fusions,
        inputs=len(reference.inputs),
        blobs=len(reference.inputs) + tops - fusions,  # a fused BatchNorm's own top is gone
        parameters=parameters,
        bn_factors=factors,
    )
