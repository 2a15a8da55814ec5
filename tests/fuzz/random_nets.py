"""Random valid BVLC nets: prototxt text that real Caffe accepts, with edge cases on purpose.

Shared by ``tests/fuzz/test_random_nets.py`` (a few dozen fixed seeds in CI) and
``benchmarks/random_nets.py`` (thousands). A net is deterministic in its seed. The generator
tracks blob shapes with its own arithmetic, written from Caffe's sources (``conv_layer.cpp``:
C++ truncating division; ``pooling_layer.cpp``: float ceil/floor, then the clip rule when
either axis pads; ``deconv_layer.cpp``) and not from caffe2keras, and follows Caffe's CHECKs
(``base_conv_layer.cpp`` / ``pooling_layer.cpp`` LayerSetUp: a lone ``pad_h`` is fine for a
convolution, never for pooling; pooling pad < kernel; group divides both channel counts; every
top has at least one element). Edge cases are drawn often: kernels larger than the padded input
with stride > 1, ceil-rounded pooling windows that start past the input (kernel < stride, no
pad), lone ``pad_h``/``pad_w``, InnerProduct over axis 2 or 3, dilation, groups, FLOOR rounding.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

Shape = tuple[int, ...]


def c_trunc_div(a: int, b: int) -> int:
    """C++ ``a / b`` on ints (truncation toward zero)."""
    return int(a / b) if abs(a) < 2**52 else (abs(a) // b) * (1 if a >= 0 else -1)


@dataclass
class _Builder:
    rng: random.Random
    lines: list[str] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)  # the next layer's edge cases
    by_layer: dict[str, set[str]] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set)  # every edge case in the net
    count: int = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def add(self, ltype: str, bottoms: list[str], top: str, params: str, shape: Shape) -> str:
        bots = " ".join(f'bottom: "{b}"' for b in bottoms)
        self.lines.append(
            f'layer {{ name: "{top}" type: "{ltype}" {bots} top: "{top}" {params} }}'.replace(
                "  ", " "
            )
        )
        self.shapes[top] = shape
        if self.features:  # the edge cases drawn for this layer
            self.by_layer[top] = self.features
            self.recorded |= self.features
            self.features = set()
        return top


@dataclass(frozen=True)
class RandomNet:
    """One generated net: its prototxt, its input shape and the edge cases it contains."""

    seed: int
    prototxt: str
    input_shape: Shape
    features: tuple[str, ...]
    shapes: tuple[tuple[str, Shape], ...]  # every blob's Caffe shape, by the generator's own rules
    layer_features: tuple[tuple[str, tuple[str, ...]], ...] = ()  # layer -> its edge cases


def _pair_text(b: _Builder, field_: str, h: int, w: int, *, lone_ok: bool, one: str = "") -> str:
    """One of Caffe's spellings of an (h, w) pair: ``x: v`` (the repeated field ``one``, default
    ``x``) once or twice, ``x_h: .. x_w: ..`` or (convolution pad only, when the other is 0) a
    lone ``x_h``/``x_w``."""
    rng = b.rng
    one = one or field_
    if lone_ok and (h == 0) != (w == 0) and rng.random() < 0.7:
        b.features.add("lone_pad_hw")
        return f"{field_}_h: {h}" if h else f"{field_}_w: {w}"
    if h == w and rng.random() < 0.6:
        return f"{one}: {h}" if (h or rng.random() < 0.5) else ""
    if rng.random() < 0.3:
        return f"{one}: {h} {one}: {w}"
    return f"{field_}_h: {h} {field_}_w: {w}"


def _conv(b: _Builder, x: str) -> str | None:
    rng = b.rng
    n, c, h, w = b.shapes[x]
    edge = rng.random() < 0.3  # a kernel past the padded input, kept by truncating division
    geo = []
    for size in (h, w):
        d = rng.choice((1, 1, 1, 2))
        s = rng.choice((1, 1, 2, 3))
        k = rng.randint(1, 4)
        p = rng.choice((0, 0, 0, 1, 2))
        if edge and s == 1:
            s = rng.randint(2, 3)
        if edge:
            # size + 2p - ext in (-s, 0): one output from C++'s division, zero from Python's
            ext = size + 2 * p + rng.randint(1, s - 1)
            if d > 1 and (ext - 1) % d:
                d = 1
            k = (ext - 1) // d + 1
        ext = d * (k - 1) + 1
        if c_trunc_div(size + 2 * p - ext, s) + 1 < 1:
            return None
        if size + 2 * p - ext < 0:
            b.features.add("conv_truncation")
        geo.append((k, s, p, d, c_trunc_div(size + 2 * p - ext, s) + 1))
    (kh, sh, ph, dh, oh), (kw, sw, pw, dw, ow) = geo
    if dh != dw:
        dw = dh  # dilation is one repeated field: keep it square or give it twice
        ext = dw * (kw - 1) + 1
        ow = c_trunc_div(w + 2 * pw - ext, sw) + 1
        if ow < 1:
            return None
    groups = [g for g in (1, 2, 3, c) if c % g == 0]
    g = rng.choice(groups)
    out = g * rng.randint(1, max(1, 6 // g))
    parts = [f"num_output: {out}"]
    parts.append(_pair_text(b, "kernel", kh, kw, lone_ok=False, one="kernel_size"))
    if (sh, sw) != (1, 1) or rng.random() < 0.3:
        parts.append(_pair_text(b, "stride", sh, sw, lone_ok=False) or f"stride: {sh}")
    parts.append(_pair_text(b, "pad", ph, pw, lone_ok=True))
    if dh > 1:
        parts.append(f"dilation: {dh}")
    if g > 1:
        parts.append(f"group: {g}")
        b.features.add("group")
    if rng.random() < 0.2:
        parts.append("bias_term: false")
    top = b.name("conv")
    ltype = "Convolution"
    return b.add(ltype, [x], top, f"convolution_param {{ {' '.join(parts)} }}", (n, out, oh, ow))


def _deconv(b: _Builder, x: str) -> str | None:
    rng = b.rng
    n, c, h, w = b.shapes[x]
    k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.choice((1, 1, 2))
    p = rng.randint(0, 1)
    ext = d * (k - 1) + 1
    oh, ow = s * (h - 1) + ext - 2 * p, s * (w - 1) + ext - 2 * p
    if min(oh, ow) < 1 or oh * ow > 400:
        return None
    g = rng.choice([g for g in (1, 2, c) if c % g == 0])
    out = g * rng.randint(1, 2)
    params = f"num_output: {out} kernel_size: {k} stride: {s} pad: {p}"
    params += f" dilation: {d}" if d > 1 else ""
    params += f" group: {g}" if g > 1 else ""
    return b.add(
        "Deconvolution",
        [x],
        b.name("deconv"),
        f"convolution_param {{ {params} }}",
        (n, out, oh, ow),
    )


def _pool_len(size: int, k: int, s: int, p: int, ceil: bool, padded: bool) -> int:
    q = (size + 2 * p - k) / s
    out = int(math.ceil(q) if ceil else math.floor(q)) + 1
    if padded and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool(b: _Builder, x: str) -> str | None:
    rng = b.rng
    n, c, h, w = b.shapes[x]
    method = rng.choice(("MAX", "AVE"))
    if rng.random() < 0.1:
        return b.add(
            "Pooling",
            [x],
            b.name("gpool"),
            f"pooling_param {{ pool: {method} global_pooling: true }}",
            (n, c, 1, 1),
        )
    empty = rng.random() < 0.25  # kernel < stride, no pad, ceil: windows past the input
    ceil = empty or rng.random() < 0.7
    k = (rng.randint(1, 2), rng.randint(1, 2)) if empty else (rng.randint(1, 4), rng.randint(1, 4))
    s = (
        (rng.randint(k[0] + 1, 4), rng.randint(k[1] + 1, 4))
        if empty
        else (rng.randint(1, 3), rng.randint(1, 3))
    )
    p = (0, 0) if empty else (rng.randint(0, k[0] - 1), rng.randint(0, k[1] - 1))
    if rng.random() < 0.5:
        p = (p[0], p[0]) if p[0] < k[1] else (0, 0)
    padded = any(p)
    oh, ow = (_pool_len(sz, kk, ss, pp, ceil, padded) for sz, kk, ss, pp in zip((h, w), k, s, p))
    if min(oh, ow) < 1:
        return None
    if not padded and ceil and ((oh - 1) * s[0] >= h or (ow - 1) * s[1] >= w):
        b.features.add(f"pool_empty_{method.lower()}")
    if any(kk > sz + 2 * pp for kk, sz, pp in zip(k, (h, w), p)):
        b.features.add("pool_kernel_past_input")  # float ceil: 1 output (C++ int: 0 or 1)
    if padded and p[0] != p[1] and 0 in p:
        b.features.add("pool_one_axis_padded")
    parts = [f"pool: {method}"]
    parts.append(
        f"kernel_size: {k[0]}"
        if k[0] == k[1] and rng.random() < 0.7
        else f"kernel_h: {k[0]} kernel_w: {k[1]}"
    )
    parts.append(f"stride: {s[0]}" if s[0] == s[1] else f"stride_h: {s[0]} stride_w: {s[1]}")
    if padded:
        parts.append(f"pad: {p[0]}" if p[0] == p[1] else f"pad_h: {p[0]} pad_w: {p[1]}")
    spelling = rng.choice(("round_mode", "ceil_mode"))  # BVLC's field, or the forks'
    if not ceil or rng.random() < 0.2:
        value = ("CEIL" if ceil else "FLOOR") if spelling == "round_mode" else str(ceil).lower()
        parts.append(f"{spelling}: {value}")
        b.features.add("pool_round_mode" if spelling == "round_mode" else "pool_ceil_mode")
    if not ceil:
        b.features.add("pool_floor")
    return b.add(
        "Pooling", [x], b.name("pool"), f"pooling_param {{ {' '.join(parts)} }}", (n, c, oh, ow)
    )


def _ip(b: _Builder, x: str) -> str | None:
    rng = b.rng
    shape = b.shapes[x]
    axis = rng.choice([a for a in (1, 2, 3) if a < len(shape)] + ([2] if len(shape) == 4 else []))
    if axis >= 2:
        b.features.add(f"ip_axis{axis}")
    out = rng.randint(1, 6)
    params = f"num_output: {out}" + (f" axis: {axis}" if axis != 1 or rng.random() < 0.2 else "")
    if rng.random() < 0.15:
        params += " transpose: true"
        b.features.add("ip_transpose")
    if rng.random() < 0.2:
        params += " bias_term: false"
    return b.add(
        "InnerProduct",
        [x],
        b.name("ip"),
        f"inner_product_param {{ {params} }}",
        (*shape[:axis], out),
    )


_ACTIVATIONS: tuple[tuple[str, Callable[[random.Random], str]], ...] = (
    (
        "ReLU",
        lambda r: (
            ""
            if r.random() < 0.6
            else f"relu_param {{ negative_slope: {r.uniform(-0.5, 0.5):.3f} }}"
        ),
    ),
    ("Sigmoid", lambda r: ""),
    ("TanH", lambda r: ""),
    ("AbsVal", lambda r: ""),
    ("BNLL", lambda r: ""),
    ("ELU", lambda r: f"elu_param {{ alpha: {r.uniform(0.1, 2):.3f} }}"),
    (
        "Power",
        lambda r: (
            f"power_param {{ power: {r.choice((1, 2, 3))} scale: {r.uniform(-1, 1):.3f} "
            f"shift: {r.uniform(-1, 1):.3f} }}"
        ),
    ),
    (
        "Exp",
        lambda r: (
            f"exp_param {{ base: {r.choice((-1, 2, 0.5))} scale: {r.uniform(-0.5, 0.5):.3f} "
            f"shift: {r.uniform(-0.5, 0.5):.3f} }}"
        ),
    ),
    ("Threshold", lambda r: f"threshold_param {{ threshold: {r.uniform(-1, 1):.3f} }}"),
    ("Dropout", lambda r: f"dropout_param {{ dropout_ratio: {r.uniform(0, 0.9):.2f} }}"),
)


def _activation(b: _Builder, x: str) -> str:
    ltype, params = b.rng.choice(_ACTIVATIONS)
    return b.add(ltype, [x], b.name(ltype.lower()), params(b.rng), b.shapes[x])


def _log(b: _Builder, x: str) -> str:
    """AbsVal, then Log of a positive value (shift 1, scale > 0); base and scale vary."""
    a = b.add("AbsVal", [x], b.name("abs"), "", b.shapes[x])
    r = b.rng
    params = (
        f"log_param {{ base: {r.choice((-1, 2, 10))} scale: {r.uniform(0.5, 2):.3f} shift: 1 }}"
    )
    return b.add("Log", [a], b.name("log"), params, b.shapes[x])


def _lrn(b: _Builder, x: str) -> str:
    r = b.rng
    region = r.choice(("ACROSS_CHANNELS", "WITHIN_CHANNEL"))
    params = (
        f"lrn_param {{ local_size: {r.choice((1, 3, 5))} alpha: {r.uniform(0.01, 2):.3f} "
        f"beta: {r.uniform(0.3, 1):.3f} k: {r.choice((1, 1, 2, 0.5))} norm_region: {region} }}"
    )
    return b.add("LRN", [x], b.name("lrn"), params, b.shapes[x])


def _batchnorm(b: _Builder, x: str) -> str:
    r = b.rng
    eps = f" eps: {r.choice((1e-5, 1e-3, 0.1))}" if r.random() < 0.5 else ""
    bn = b.add(
        "BatchNorm",
        [x],
        b.name("bn"),
        f"batch_norm_param {{ use_global_stats: true{eps} }}",
        b.shapes[x],
    )
    if r.random() < 0.7:
        bias = "true" if r.random() < 0.7 else "false"
        bn = b.add(
            "Scale", [bn], b.name("scale"), f"scale_param {{ bias_term: {bias} }}", b.shapes[x]
        )
    return bn


def _mvn(b: _Builder, x: str) -> str:
    r = b.rng
    params = (
        f"mvn_param {{ normalize_variance: {str(r.random() < 0.5).lower()} "
        f"across_channels: {str(r.random() < 0.5).lower()} }}"
    )
    return b.add("MVN", [x], b.name("mvn"), params, b.shapes[x])


def _softmax(b: _Builder, x: str) -> str:
    return b.add("Softmax", [x], b.name("softmax"), "softmax_param { axis: 1 }", b.shapes[x])


def _eltwise(b: _Builder, x: str) -> str:
    """A short side branch (an activation) merged back with its own input."""
    y = _activation(b, x)
    op = b.rng.choice(("SUM", "PROD", "MAX"))
    coeff = ""
    if op == "SUM" and b.rng.random() < 0.5:
        coeff = f" coeff: {b.rng.uniform(-2, 2):.3f} coeff: {b.rng.uniform(-2, 2):.3f}"
    return b.add(
        "Eltwise",
        [x, y],
        b.name("eltwise"),
        f"eltwise_param {{ operation: {op}{coeff} }}",
        b.shapes[x],
    )


def _concat(b: _Builder, x: str) -> str:
    """A side branch (an activation) concatenated with its input along channels."""
    y = _activation(b, x)
    n, c, *rest = b.shapes[x]
    return b.add("Concat", [x, y], b.name("concat"), "concat_param { axis: 1 }", (n, 2 * c, *rest))


SPATIAL = (_conv, _conv, _conv, _pool, _pool, _pool, _deconv)
POINTWISE = (_activation, _activation, _log, _lrn, _batchnorm, _mvn, _softmax, _eltwise, _concat)


def random_net(seed: int, max_layers: int = 5) -> RandomNet:
    """A random valid net of 1 to ``max_layers`` main-path steps on a small 4-D input, sometimes
    ending in an InnerProduct (axis 1, 2 or 3)."""
    rng = random.Random(seed)
    b = _Builder(rng)
    shape = (2, rng.randint(1, 4), rng.randint(1, 7), rng.randint(1, 7))
    dims = " ".join(f"dim: {d}" for d in shape)
    b.lines.append(
        f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}'
    )
    b.shapes["data"] = shape
    x = "data"
    for _ in range(rng.randint(1, max_layers)):
        b.features = set()  # a step that gave up leaves none behind
        step = rng.choice(SPATIAL if rng.random() < 0.55 else POINTWISE)
        y = step(b, x)
        if y is not None and math.prod(b.shapes[y]) <= 20000 and b.shapes[y][1] <= 24:
            x = y
        elif y is not None:
            break
    if x == "data":
        x = _activation(b, x)
    b.features = set()
    if rng.random() < 0.3:
        y = _ip(b, x)
        if y is not None:
            x = y
            if rng.random() < 0.3:
                _activation(b, x)
    return RandomNet(
        seed=seed,
        prototxt="\n".join(b.lines) + "\n",
        input_shape=shape,
        features=tuple(sorted(b.recorded)),
        shapes=tuple(b.shapes.items()),
        layer_features=tuple((k, tuple(sorted(v))) for k, v in b.by_layer.items()),
    )
