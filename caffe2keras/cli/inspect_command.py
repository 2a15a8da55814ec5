"""``caffe2keras inspect``: the layer table of a net. Never imports TensorFlow or Keras (and, for a
bare prototxt, not numpy): only the frontend, the IR, the passes and the family registries run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from caffe2keras.cli.exits import parse_shape, run
from caffe2keras.cli.options import NET_OPTIONS, with_options


def _net_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return with_options(fn, *NET_OPTIONS)


@click.command("inspect")
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (inspect.schema.json).")
@_net_options
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def inspect_command(
    prototxt: str,
    caffemodel: str | None,
    as_json: bool,
    input_shape: tuple[str, ...],
    phase: str,
    stage: tuple[str, ...],
    plugin: tuple[str, ...],
    debug: bool,
) -> None:
    """The layer table of PROTOTXT (and a check of CAFFEMODEL's blobs, if given).

    Per layer: type, bottoms -> tops, Caffe output shape, parameter count and what it becomes in
    Keras (or which BatchNorm+Scale fusion absorbs it); then totals, unsupported types, inputs and
    preprocessing hints from transform_param and comments. Never imports TensorFlow. Exit code 4
    when some layer type is unsupported.
    """

    def go() -> int:
        from caffe2keras.runtime import paths

        paths.check_command({"plugin": plugin}, prototxt, caffemodel)  # before any work
        # not through caffe2keras.api, whose verification imports would cost start-up time
        from caffe2keras.frontend.load import LoadOptions
        from caffe2keras.frontend.phase import NetState
        from caffe2keras.inspection import inspect_net, to_text

        options = LoadOptions(
            input_shapes=dict(parse_shape(s) for s in input_shape),
            state=NetState(phase=phase, stages=tuple(stage)),
        )
        found = inspect_net(prototxt, caffemodel, options, plugin)
        import json

        # compact JSON: json's C encoder does not indent, and inspect must stay fast
        text = json.dumps(found.to_dict()) if as_json else to_text(found)
        click.echo(text)
        return found.exit_code

    run(go, debug)
