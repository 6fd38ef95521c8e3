#!/usr/bin/env python3
"""Models and expected outputs from onnxruntime, for the engine's equality tests.

    python Tests/Fixtures/reference_models.py OUT_DIR [--demo models/efficientnet-lite0] [--demo-int8 models/efficientnet-lite0-int8]

Writes backend-test folders (model.onnx, test_data_set_N/input_K.pb, output_K.pb, meta.json):
  OUT_DIR/demo_batch1, demo_batch8     the demo model on scikit-image photos (Pillow preprocessing)
  OUT_DIR/demo_int8_batch1             the int8 demo model (QDQ) on the same photos
  OUT_DIR/light_*_random               onnx's nine light models with seeded random weights
  OUT_DIR/resnet18_like, mobilenet_v3_like, squeezenet_like   small generated CNNs, random weights
  OUT_DIR/qgemm_float, qgemm_quantized com.microsoft QGemm: B as stored, alpha, transA, float or quantized output
  OUT_DIR/*_qdq, *_qop                 each of those twelve quantized by onnxruntime's quantize_static
                                       (QDQ and QOperator formats, per-channel s8 weights, u8
                                       activations, calibrated on other random inputs than the test's)
Expected outputs come from onnxruntime (ORT_ENABLE_ALL), so the tests prove equality with it: to
1e-4 in float; for a quantized model within QDQ_ATOL output quantization steps (see qdq_case).
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
import stamp

STAMP = "reference-models-v9"
# A quantized model's outputs may differ from onnxruntime's by this many steps of its output's
# quantization. Why any: where the engine keeps QDQ in float (activations' quantize and
# dequantize as reorders multiplying by 1/scale, pooling, Gemm) it rounds float values
# onnxruntime computes otherwise, and a residual add fused into its convolution rounds once where
# onnxruntime rounds twice; so a value next to a rounding boundary can land one step apart, and
# the next layer carries that on.
QDQ_STEPS = 6
RNG = np.random.default_rng(20261121)


def ort_run(model, feeds):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def write_case(out, name, model, feeds_list, rtol=1e-3, atol=1e-4):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    for n, feeds in enumerate(feeds_list):
        d = os.path.join(folder, f"test_data_set_{n}")
        os.makedirs(d, exist_ok=True)
        outputs = ort_run(model, feeds)
        for k, name_k in enumerate(names):
            with open(os.path.join(d, f"input_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(feeds[name_k], name_k).SerializeToString())
        for k, (o, spec) in enumerate(zip(outputs, model.graph.output)):
            with open(os.path.join(d, f"output_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(o, spec.name).SerializeToString())
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump({"rtol": rtol, "atol": atol, "data_sets": len(feeds_list)}, f)


# --- the demo model on real photos -------------------------------------------------------

PHOTOS = ["coffee", "camera", "rocket", "stereo_motorcycle", "astronaut", "chelsea", "cat", "hubble_deep_field"]


def demo_cases(out, demo_dir):
    sys.path.insert(0, demo_dir)
    import check_model  # the same Pillow preprocessing the model check uses
    with open(os.path.join(demo_dir, "model.json")) as f:
        manifest = json.load(f)
    model = onnx.load(os.path.join(demo_dir, manifest["artifact"]["file"]))
    batch = np.concatenate([check_model.preprocess(check_model.photo(p), manifest) for p in PHOTOS])
    name = manifest["input"]["name"]
    write_case(out, "demo_batch1", model, [{name: batch[i:i + 1]} for i in range(len(PHOTOS))], rtol=0, atol=1e-4)
    write_case(out, "demo_batch8", model, [{name: batch}], rtol=0, atol=1e-4)


def demo_int8_case(out, int8_dir):
    sys.path.insert(0, int8_dir.replace("-int8", ""))
    import check_model
    with open(os.path.join(int8_dir, "model.json")) as f:
        manifest = json.load(f)
    model = onnx.load(os.path.join(int8_dir, manifest["artifact"]["file"]))
    name = manifest["input"]["name"]
    feeds = [{name: check_model.preprocess(check_model.photo(p), manifest)} for p in PHOTOS]
    write_case(out, "demo_int8_batch1", model, feeds, rtol=0, atol=QDQ_STEPS * output_step(model))


# --- quantized models -------------------------------------------------------------------------

def output_step(model):
    """The scale of the DequantizeLinear that makes the graph's (first) output, else 0."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out = model.graph.output[0].name
    producers = {o: n for n in model.graph.node for o in n.output}
    node = producers.get(out)
    # Walk back through shape-only and softmax-free ops to the DequantizeLinear.
    while node is not None and node.op_type in ("Reshape", "Flatten", "Squeeze", "Identity"):
        node = producers.get(node.input[0])
    if node is None or node.op_type != "DequantizeLinear" or node.input[1] not in inits:
        return 0.0
    return float(np.max(inits[node.input[1]]))


def quantized(model, calibration, qoperator=False):
    """`model` quantized by onnxruntime's quantize_static, calibrated on `calibration` (feeds): in
    the QDQ format, or with `qoperator` in the QOperator one (QLinearConv, QGemm, ...)."""
    import tempfile
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calibration)

        def get_next(self):
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.onnx"), os.path.join(tmp, "out.onnx")
        if model.opset_import[0].version < 11:
            # The light models are opset 8 and IR 3 (initializers listed as graph inputs, which
            # randomize_light does not add): the quantizer's opset upgrade needs them declared.
            model = onnx.ModelProto.FromString(model.SerializeToString())
            model.ir_version = max(model.ir_version, 7)
            model = onnx.version_converter.convert_version(model, 13)
        onnx.save(model, src)
        import logging
        logging.getLogger().setLevel(logging.ERROR)
        # 7-bit weights (reduce_range): without VNNI both onnxruntime's and oneDNN's u8×s8 kernels
        # could saturate full-range ones, each its own way (see quantize.py).
        quantize_static(src, dst, Reader(), quant_format=QuantFormat.QOperator if qoperator else QuantFormat.QDQ,
                        per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        return onnx.load(dst)


def qdq_case(out, name, model, feeds_list, calibration):
    """The quantized `model`, in both formats (`name_qdq`, `name_qop`), against onnxruntime running
    the same file: outputs within QDQ_STEPS of the output's quantization step (relative 1e-2 when the
    output is not a DequantizeLinear's)."""
    for suffix, qoperator in (("_qdq", False), ("_qop", True)):
        q = quantized(model, calibration, qoperator)
        step = output_step(q)
        write_case(out, name + suffix, q, feeds_list, rtol=0 if step else 1e-2, atol=QDQ_STEPS * step if step else 1e-2)


# --- onnx's light models with random weights ------------------------------------------------

def randomize_light(path):
    """Replaces every ConstantOfShape weight with seeded random values of a sane scale."""
    model = onnx.load(path)
    g = model.graph
    shapes = {}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    shapes[n.output[0]] = numpy_helper.to_array(a.t)
    for i in g.initializer:
        shapes[i.name] = numpy_helper.to_array(i)
    keep = []
    for n in g.node:
        if n.op_type == "ConstantOfShape" and n.input[0] in shapes:
            shape = [int(d) for d in shapes[n.input[0]]]
            if len(shape) == 1:
                value = RNG.uniform(0.5, 1.5, shape)
            else:
                fan_in = int(np.prod(shape[1:])) or 1
                value = RNG.standard_normal(shape) * np.sqrt(2.0 / fan_in)
            g.initializer.append(numpy_helper.from_array(value.astype(np.float32), n.output[0]))
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    return model


def light_cases(out):
    data = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    for name in sorted(os.listdir(data)):
        if not name.endswith(".onnx"):
            continue
        model = randomize_light(os.path.join(data, name))
        inits = {i.name for i in model.graph.initializer}
        x = next(i for i in model.graph.input if i.name not in inits)
        shape = [d.dim_value or 1 for d in x.type.tensor_type.shape.dim]
        feeds = {x.name: RNG.random(shape, dtype=np.float32)}
        write_case(out, name[:-5] + "_random", model, [feeds], rtol=1e-3, atol=1e-4)
        calibration = [{x.name: RNG.random(shape, dtype=np.float32)} for _ in range(2)]
        qdq_case(out, name[:-5] + "_random", model, [feeds], calibration)


def qgemm_cases(out):
    """onnxruntime's com.microsoft QGemm in the forms its quantizer does not emit for the models
    above: B not transposed (per-column scales on B's axis 1), alpha other than 1, transA, a float
    output (no y_scale), and a per-tensor quantized output."""
    m, k, n = 3, 16, 5
    x_scale, x_zero = 0.02, 120
    inits = [
        numpy_helper.from_array(np.array(x_scale, np.float32), "x_scale"),
        numpy_helper.from_array(np.array(x_zero, np.uint8), "x_zero"),
    ]
    b = RNG.integers(-60, 60, (k, n)).astype(np.int8)
    b_scale = RNG.uniform(0.005, 0.02, n).astype(np.float32)
    alpha = 0.5
    bias = RNG.integers(-3000, 3000, n).astype(np.int32)  # at alpha * x_scale * b_scale
    inits += [numpy_helper.from_array(b, "b"), numpy_helper.from_array(b_scale, "b_scale"),
              numpy_helper.from_array(np.zeros(n, np.int8), "b_zero"), numpy_helper.from_array(bias, "bias"),
              numpy_helper.from_array(np.ascontiguousarray(b.T), "bt"), numpy_helper.from_array(np.array(0.011, np.float32), "bt_scale"),
              numpy_helper.from_array(np.array(0, np.int8), "bt_zero"),
              numpy_helper.from_array(np.array(0.05, np.float32), "y_scale"), numpy_helper.from_array(np.array(100, np.uint8), "y_zero")]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero"], ["xq"]),
        # Float output: alpha * xq·b + bias, B as stored ([K, N]), per-column scales.
        helper.make_node("QGemm", ["xq", "x_scale", "x_zero", "b", "b_scale", "b_zero", "bias"], ["y_float"],
                         domain="com.microsoft", alpha=alpha),
        # Quantized output: xq·bt^T with B transposed ([N, K]), one scale, no bias.
        helper.make_node("QGemm", ["xq", "x_scale", "x_zero", "bt", "bt_scale", "bt_zero", "", "y_scale", "y_zero"], ["yq"],
                         domain="com.microsoft", transB=1),
        helper.make_node("DequantizeLinear", ["yq", "y_scale", "y_zero"], ["y_quantized"]),
        # transA: x read as [K, M] (here from xq reshaped; Transpose of a quantized tensor stays exact).
        helper.make_node("Transpose", ["xq"], ["xq_t"], perm=[1, 0]),
        helper.make_node("QGemm", ["xq_t", "x_scale", "x_zero", "b", "b_scale", "b_zero", "bias"], ["y_trans_a"],
                         domain="com.microsoft", alpha=alpha, transA=1),
    ]
    feeds = [{"x": RNG.uniform(-2, 2, (m, k)).astype(np.float32)} for _ in range(3)]
    # Float outputs are sums of exact integer products in float32 (an error of one zero-point step
    # would be ~0.01); the quantized one may round one output step (0.05) apart.
    for name, outputs, atol in (("qgemm_float", ["y_float", "y_trans_a"], 1e-3), ("qgemm_quantized", ["y_quantized"], 0.05)):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, [m, n]) for o in outputs], inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8
        write_case(out, name, model, feeds, rtol=1e-4, atol=atol)


def qdq_residual_case(out):
    """Residual Adds after int8 convolutions, as the engine fuses them (a convolution with a clip
    and a sum post-op). Branch 1 adds `a` to conv_b's output through its own DequantizeLinear
    (placed after conv_b); `a` is conv_b's own source and conv_c reads it later through their
    shared DequantizeLinear, so the sum must work on a copy. Branch 2 adds branch 1's quantized
    result to conv_c's output, then Relu, where nothing reads that result again (in place).
    conv_b's and conv_c's quantization ranges are narrow: many of their results saturate before
    the Add, as the graph says they must. Outputs within 2 steps of their quantization: the
    engine rounds each sum once, onnxruntime twice (QLinearConv, then QLinearAdd), and branch 2
    adds branch 1's result, which may already be a step apart."""
    c, hw = 16, 12
    inits = []

    def const(name, value):
        inits.append(numpy_helper.from_array(value, name))
        return name

    def qparams(name, scale, zero):
        return [const(name + "_scale", np.array(scale, np.float32)), const(name + "_zero", np.array(zero, np.uint8))]

    def weights(name, oc, ic, k, x_scale):
        w_scale = RNG.uniform(0.002, 0.004, oc).astype(np.float32)
        const(name + "_w", RNG.integers(-60, 61, (oc, ic, k, k)).astype(np.int8))
        const(name + "_w_scale", w_scale)
        const(name + "_w_zero", np.zeros(oc, np.int8))
        const(name + "_b", RNG.integers(-2000, 2000, oc).astype(np.int32))
        const(name + "_b_scale", (x_scale * w_scale).astype(np.float32))
        return [helper.make_node("DequantizeLinear", [name + "_w", name + "_w_scale", name + "_w_zero"], [name + "_wf"], axis=0),
                helper.make_node("DequantizeLinear", [name + "_b", name + "_b_scale"], [name + "_bf"], axis=0)]

    def conv(name, x, oc, ic, k, x_scale, q):
        return weights(name, oc, ic, k, x_scale) + [
            helper.make_node("Conv", [x, name + "_wf", name + "_bf"], [name + "_y"], name=name, pads=[k // 2] * 4),
            helper.make_node("QuantizeLinear", [name + "_y"] + q, [name + "_q"]),
            helper.make_node("DequantizeLinear", [name + "_q"] + q, [name + "_dq"])]

    x_q, a_q, b_q, s_q, c_q, r_q = (qparams("x", 0.01, 128), qparams("a", 0.03, 128), qparams("b", 0.004, 128),
                                    qparams("s", 0.05, 128), qparams("c", 0.004, 128), qparams("r", 0.05, 0))
    nodes = [helper.make_node("QuantizeLinear", ["x"] + x_q, ["xq"]), helper.make_node("DequantizeLinear", ["xq"] + x_q, ["xf"])]
    nodes += conv("conv_a", "xf", c, 8, 3, 0.01, a_q)
    nodes += conv("conv_b", "conv_a_dq", c, c, 1, 0.03, b_q)
    nodes += [helper.make_node("DequantizeLinear", ["conv_a_q"] + a_q, ["a_for_add"]),
              helper.make_node("Add", ["conv_b_dq", "a_for_add"], ["sum1"], name="add_copy"),
              helper.make_node("QuantizeLinear", ["sum1"] + s_q, ["sum1_q"]),
              helper.make_node("DequantizeLinear", ["sum1_q"] + s_q, ["out_copy"])]
    nodes += conv("conv_c", "conv_a_dq", c, c, 1, 0.03, c_q)
    nodes += [helper.make_node("Add", ["out_copy", "conv_c_dq"], ["sum2"], name="add_in_place"),
              helper.make_node("Relu", ["sum2"], ["sum2_relu"]),
              helper.make_node("QuantizeLinear", ["sum2_relu"] + r_q, ["sum2_q"]),
              helper.make_node("DequantizeLinear", ["sum2_q"] + r_q, ["out_in_place"])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, c, hw, hw]) for n in ("out_copy", "out_in_place")]
    g = helper.make_graph(nodes, "qdq_residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, hw, hw])], outputs, inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    feeds = [{"x": RNG.uniform(-1.2, 1.2, (1, 8, hw, hw)).astype(np.float32)} for _ in range(3)]
    write_case(out, "qdq_residual", model, feeds, rtol=0, atol=2.5 * 0.05)


# --- small generated CNNs ------------------------------------------------------------------

class Builder:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def const(self, value):
        nm = self.name("w")
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), nm))
        return nm

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, cin, cout, k, stride=1, groups=1, pads=None, bias=True):
        w = RNG.standard_normal((cout, cin // groups, k, k)) * np.sqrt(2.0 / (cin // groups * k * k))
        ins = [x, self.const(w)] + ([self.const(RNG.standard_normal(cout) * 0.1)] if bias else [])
        p = pads if pads is not None else [k // 2] * 4
        return self.node("Conv", ins, kernel_shape=[k, k], strides=[stride, stride], pads=p, group=groups)

    def bn(self, x, c):
        return self.node("BatchNormalization", [x, self.const(RNG.uniform(0.5, 1.5, c)), self.const(RNG.standard_normal(c) * 0.1),
                                                self.const(RNG.standard_normal(c) * 0.1), self.const(RNG.uniform(0.5, 1.5, c))], epsilon=1e-5)

    def relu6(self, x):
        return self.node("Clip", [x, self.const(0.0), self.const(6.0)])

    def model(self, x, classes, name, size):
        g = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", classes])], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def head(b, x, c, classes):
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    return b.node("Gemm", [x, b.const(RNG.standard_normal((classes, c)) * np.sqrt(1.0 / c)), b.const(np.zeros(classes))], transB=1)


def resnet18_like():
    b = Builder()
    x = b.node("Relu", [b.bn(b.conv("input", 3, 16, 7, 2, pads=[3, 3, 3, 3], bias=False), 16)])
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c = 16
    for stage, cout in enumerate([16, 32, 64, 128]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            y = b.node("Relu", [b.bn(b.conv(x, c, cout, 3, stride, bias=False), cout)])
            y = b.bn(b.conv(y, cout, cout, 3, bias=False), cout)
            short = b.bn(b.conv(x, c, cout, 1, stride, pads=[0, 0, 0, 0], bias=False), cout) if stride != 1 or c != cout else x
            x = b.node("Relu", [b.node("Add", [y, short])])
            c = cout
    return b.model(head(b, x, c, 100), 100, "resnet18_like", 64)


def mobilenet_v3_like():
    b = Builder()
    x = b.node("HardSwish", [b.bn(b.conv("input", 3, 16, 3, 2, bias=False), 16)])
    c = 16
    for expand, cout, k, stride, se, act in [(1, 16, 3, 2, True, "Relu"), (4, 24, 3, 2, False, "Relu"), (3, 24, 3, 1, False, "Relu"),
                                               (3, 40, 5, 2, True, "HardSwish"), (3, 40, 5, 1, True, "HardSwish"), (6, 48, 5, 1, True, "Clip6")]:
        def activate(t):
            return b.relu6(t) if act == "Clip6" else b.node(act, [t])
        mid = c * expand
        y = activate(b.bn(b.conv(x, c, mid, 1, pads=[0, 0, 0, 0], bias=False), mid)) if expand != 1 else x
        y = activate(b.bn(b.conv(y, mid, mid, k, stride, groups=mid, bias=False), mid))
        if se:
            s = b.node("GlobalAveragePool", [y])
            s = b.node("Relu", [b.conv(s, mid, max(8, mid // 4), 1, pads=[0, 0, 0, 0])])
            s = b.node("HardSigmoid", [b.conv(s, max(8, mid // 4), mid, 1, pads=[0, 0, 0, 0])], alpha=1 / 6, beta=0.5)
            y = b.node("Mul", [y, s])
        y = b.bn(b.conv(y, mid, cout, 1, pads=[0, 0, 0, 0], bias=False), cout)
        x = b.node("Add", [y, x]) if stride == 1 and c == cout else y
        c = cout
    x = b.node("HardSwish", [b.bn(b.conv(x, c, 96, 1, pads=[0, 0, 0, 0], bias=False), 96)])
    x = b.node("Sigmoid", [b.node("LeakyRelu", [x], alpha=0.1)])
    return b.model(head(b, x, 96, 50), 50, "mobilenet_v3_like", 96)


def squeezenet_like():
    b = Builder()
    x = b.node("Relu", [b.conv("input", 3, 32, 3, 2, pads=[0, 0, 0, 0])])
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    c = 32
    for i, (s, e) in enumerate([(8, 32), (8, 32), (16, 64), (16, 64)]):
        sq = b.node("Relu", [b.conv(x, c, s, 1, pads=[0, 0, 0, 0])])
        e1 = b.node("Relu", [b.conv(sq, s, e, 1, pads=[0, 0, 0, 0])])
        e3 = b.node("Relu", [b.conv(sq, s, e, 3)])
        x = b.node("Concat", [e1, e3], axis=1)
        c = 2 * e
        if i == 1:
            x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    x = b.node("Dropout", [x])
    x = b.node("Relu", [b.conv(x, c, 40, 1, pads=[0, 0, 0, 0])])
    x = b.node("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1])
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Reshape", [x, b.inits.append(numpy_helper.from_array(np.array([0, -1], np.int64), "flat")) or "flat"])
    x = b.node("Softmax", [x], axis=1)
    return b.model(x, 40, "squeezenet_like", 96)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--demo", default=None)
    ap.add_argument("--demo-int8", default=None)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    want = STAMP + (":demo" if args.demo else "") + (":int8" if args.demo_int8 else "")
    if stamp.is_current(out, want):
        return 0
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, build, size in [("resnet18_like", resnet18_like, 64), ("mobilenet_v3_like", mobilenet_v3_like, 96),
                              ("squeezenet_like", squeezenet_like, 96)]:
        model = build()
        feeds = [{"input": RNG.standard_normal((n, 3, size, size)).astype(np.float32)} for n in (1, 3)]
        write_case(out, name, model, feeds)
        qdq_case(out, name, model, feeds, [{"input": RNG.standard_normal((1, 3, size, size)).astype(np.float32)} for _ in range(4)])
    light_cases(out)
    qgemm_cases(out)
    qdq_residual_case(out)
    if args.demo:
        demo_cases(out, os.path.abspath(args.demo))
    if args.demo_int8:
        demo_int8_case(out, os.path.abspath(args.demo_int8))
    stamp.mark(out, want)
    print(f"{out}: reference models written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
