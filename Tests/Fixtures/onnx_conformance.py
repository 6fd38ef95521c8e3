#!/usr/bin/env python3
"""Write ONNX's own conformance tests, from the pinned `onnx` wheel, in the backend-test layout.

    python Tests/Fixtures/onnx_conformance.py OUT_DIR

OUT_DIR/node/test_*/         the 1,884 operator tests from onnx.backend.test.case.node.collect_testcases()
OUT_DIR/simple/, pytorch-converted/, pytorch-operator/   copied from the wheel
OUT_DIR/light/light_*/       the nine whole-model tests, with the dummy input onnx's runner generates

Each test folder holds model.onnx, test_data_set_N/input_K.pb and output_K.pb (TensorProto), and
meta.json with the test's tolerances. A stamp file makes reruns free.
"""
import json
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import stamp

STAMP = f"onnx-{onnx.__version__}-v3"


def to_proto(value, name):
    """A TensorProto for a data-set entry (numpy array, scalar or already a TensorProto)."""
    if isinstance(value, onnx.TensorProto):
        proto = onnx.TensorProto()
        proto.CopyFrom(value)
        proto.name = name
        return proto
    if isinstance(value, (list, dict)) or value is None:
        raise TypeError("not a tensor")
    return numpy_helper.from_array(np.asarray(value), name)


def write_case(folder, model, data_sets, rtol, atol):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    written = 0
    for i, (inputs, outputs) in enumerate(data_sets):
        d = os.path.join(folder, f"test_data_set_{i}")
        os.makedirs(d, exist_ok=True)
        try:
            protos = [to_proto(a, name) for a, name in
                      zip(inputs, [x.name for x in model.graph.input if x.name not in {t.name for t in model.graph.initializer}])]
            outs = [to_proto(a, o.name) for a, o in zip(outputs, model.graph.output)]
        except Exception:  # sequences, optionals, maps: not tensors
            shutil.rmtree(d)
            continue
        for k, p in enumerate(protos):
            with open(os.path.join(d, f"input_{k}.pb"), "wb") as f:
                f.write(p.SerializeToString())
        for k, p in enumerate(outs):
            with open(os.path.join(d, f"output_{k}.pb"), "wb") as f:
                f.write(p.SerializeToString())
        written += 1
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump({"rtol": rtol, "atol": atol, "data_sets": written}, f)


def main():
    out = os.path.abspath(sys.argv[1])
    if stamp.is_current(out, STAMP):
        return 0
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    warnings.simplefilter("ignore")
    from onnx.backend.test.case.node import collect_testcases
    cases = collect_testcases()
    for c in cases:
        write_case(os.path.join(out, "node", c.name), c.model, c.data_sets, c.rtol, c.atol)
    data = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    for kind in ("simple", "pytorch-converted", "pytorch-operator"):
        shutil.copytree(os.path.join(data, kind), os.path.join(out, kind))
    light = os.path.join(data, "light")
    for name in sorted(os.listdir(light)):
        if not name.endswith(".onnx"):
            continue
        base = name[:-5]
        model = onnx.load(os.path.join(light, name))
        inits = {i.name for i in model.graph.initializer}
        feeds = []
        for x in model.graph.input:
            if x.name in inits:
                continue
            # onnx/backend/test/runner: generate_dummy_data(x, seed=0, random=False)
            shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim)
            n = int(np.prod(shape))
            feeds.append((np.arange(n).reshape(shape) / n).astype(np.float32))
        expected = numpy_helper.to_array(onnx.load_tensor(os.path.join(light, base + "_output_0.pb")))
        write_case(os.path.join(out, "light", base), model, [(feeds, [expected])], 1e-3, 1e-7)
    stamp.mark(out, STAMP)
    print(f"{out}: {len(cases)} node tests, the wheel's model tests and 9 light models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
