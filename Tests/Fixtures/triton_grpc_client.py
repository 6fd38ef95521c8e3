#!/usr/bin/env python3
"""Triton's own gRPC client (tritonclient[grpc] from PyPI) and gRPC's health client
(grpcio-health-checking) against our gRPC port.

    python Tests/Fixtures/triton_grpc_client.py HOST:GRPC_PORT HOST:HTTP_PORT MODEL_DIR IMAGE [--key KEY] [--max-message BYTES]

Checks each call itself and prints one JSON object: what was seen, and a list of failures (empty
when everything held), for the Swift test to report.
"""
import argparse
import json
import os
import socket
import sys
import time
import urllib.request

import grpc
import numpy as np
import onnxruntime as ort
import tritonclient.grpc as grpcclient
import tritonclient.grpc.service_pb2 as pb
import tritonclient.grpc.service_pb2_grpc as pb_grpc
import tritonclient.http as httpclient
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image
from tritonclient.utils import InferenceServerException

failures = []
seen = {}


def check(name, condition, detail=""):
    seen[name] = bool(condition)
    if not condition:
        failures.append(f"{name}: {detail}")


def status_of(call):
    """The gRPC status code name a call ends with (OK when it succeeds)."""
    try:
        call()
        return "OK"
    except InferenceServerException as e:
        return (e.status() or "").replace("StatusCode.", "")
    except grpc.RpcError as e:
        return e.code().name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("grpc_url")
    ap.add_argument("http_url")
    ap.add_argument("model_dir")
    ap.add_argument("image")
    ap.add_argument("--key", help="the server runs with this API key")
    ap.add_argument("--max-message", type=int, default=16 << 20, help="the server's MAX_BODY_BYTES")
    ap.add_argument("--buffered", type=int, help="the server's MAX_BUFFERED_BODY_BYTES: check that gRPC shares it with HTTP")
    args = ap.parse_args()
    sys.path.insert(0, args.model_dir)
    import check_model

    manifest = json.load(open(os.path.join(args.model_dir, "model.json")))
    name, in_name, out_name = manifest["name"], manifest["input"]["name"], manifest["output"]["name"]

    def auth():  # a new dict each call: tritonclient adds its own entries to the one it is given
        return {"authorization": f"Bearer {args.key}"} if args.key else None

    limit = args.max_message + (1 << 20)
    options = [("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", limit)]
    client = grpcclient.InferenceServerClient(args.grpc_url, channel_args=options)

    # Probes and metadata.
    check("live", client.is_server_live())
    check("ready", client.is_server_ready())
    check("model_ready", client.is_model_ready(name))
    check("server_metadata", client.get_server_metadata().name == "swift-model-server")
    meta = client.get_model_metadata(name, headers=auth())
    check("model_metadata", meta.name == name and list(meta.inputs[0].shape) == manifest["input"]["shape"], str(meta))

    # FP32 in raw_input_contents: the engine's logits, as onnxruntime computes them, and exactly
    # what the REST route answers for the same tensor.
    x = check_model.preprocess(Image.open(args.image), manifest).astype(np.float32)
    inp = grpcclient.InferInput(in_name, list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    result = client.infer(name, [inp], request_id="req-7", headers=auth())
    logits = result.as_numpy(out_name)
    reference = ort.InferenceSession(os.path.join(args.model_dir, "model.onnx")).run(None, {in_name: x})[0]
    diff = float(np.abs(logits - reference).max())
    seen["max_abs_diff_vs_onnxruntime"] = diff
    check("fp32_matches_onnxruntime", logits.shape == reference.shape and diff < 1e-3, f"max |diff| {diff}")
    check("request_id", result.get_response().id == "req-7")
    rest = httpclient.InferenceServerClient(args.http_url)
    rin = httpclient.InferInput(in_name, list(x.shape), "FP32")
    rin.set_data_from_numpy(x, binary_data=True)
    rest_logits = rest.infer(name, [rin], headers=auth()).as_numpy(out_name)
    check("fp32_same_as_rest", np.array_equal(logits, rest_logits), "gRPC and REST differ")

    # The same tensor as typed contents (fp32_contents), through the generated stub.
    stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(args.grpc_url, options=options))
    request = pb.ModelInferRequest(model_name=name)
    tensor = request.inputs.add(name=in_name, datatype="FP32", shape=list(x.shape))
    tensor.contents.fp32_contents.extend(x.reshape(-1).tolist())
    response = stub.ModelInfer(request, metadata=[("authorization", f"Bearer {args.key}")] if args.key else None)
    typed = np.frombuffer(response.raw_output_contents[0], dtype=np.float32).reshape(logits.shape)
    check("fp32_contents_same_as_raw", np.array_equal(typed, logits))

    # Encoded images in BYTES, two in one request, and the classification extension.
    photo = open(args.image, "rb").read()
    images = grpcclient.InferInput(in_name, [2], "BYTES")
    images.set_data_from_numpy(np.array([photo, photo], dtype=np.object_))
    top = client.infer(name, [images], outputs=[grpcclient.InferRequestedOutput(out_name, class_count=3)], headers=auth()).as_numpy(out_name)
    labels = [v.decode() for v in top.reshape(-1)]
    seen["bytes_top3"] = labels[:3]
    check("bytes_classification", top.shape == (2, 3) and labels[0].endswith(":967:n07920052 espresso") and labels[3] == labels[0], str(labels))

    # Errors, as status codes.
    zeros = grpcclient.InferInput(in_name, [1, 3, 2, 2], "FP32")
    zeros.set_data_from_numpy(np.zeros((1, 3, 2, 2), np.float32))
    rows = grpcclient.InferInput(in_name, [33] + list(x.shape[1:]), "FP32")
    rows.set_data_from_numpy(np.zeros([33] + list(x.shape[1:]), np.float32))
    garbage = grpcclient.InferInput(in_name, [1], "BYTES")
    garbage.set_data_from_numpy(np.array([b"not an image"], dtype=np.object_))
    big = grpcclient.InferInput(in_name, [1], "BYTES")
    big.set_data_from_numpy(np.array([b"\0" * (args.max_message + 1)], dtype=np.object_))
    for label, call, want in [
        ("unknown_model", lambda: client.infer("no-such-model", [inp], headers=auth()), "NOT_FOUND"),
        ("unknown_version", lambda: client.infer(name, [inp], model_version="99", headers=auth()), "NOT_FOUND"),
        ("wrong_shape", lambda: client.infer(name, [zeros], headers=auth()), "INVALID_ARGUMENT"),
        ("too_many_rows", lambda: client.infer(name, [rows], headers=auth()), "RESOURCE_EXHAUSTED"),
        ("not_an_image", lambda: client.infer(name, [garbage], headers=auth()), "INVALID_ARGUMENT"),
    ]:
        got = status_of(call)
        check(label, got == want, f"{want} expected, got {got}")
    # Refused on its 5-byte length prefix, before the message is buffered: the server answers
    # RESOURCE_EXHAUSTED and resets the stream, which this client (still sending) may report as
    # CANCELLED. Either way the next call is served.
    got = status_of(lambda: client.infer(name, [big], headers=auth()))
    check("message_too_large", got in ("RESOURCE_EXHAUSTED", "CANCELLED"), f"RESOURCE_EXHAUSTED expected, got {got}")
    check("served_after_too_large", status_of(lambda: client.infer(name, [inp], headers=auth())) == "OK")
    # The body budget is shared with HTTP: while an HTTP upload holds most of it, a gRPC message
    # that does not fit the rest is UNAVAILABLE as its bytes arrive; once the upload is gone the
    # budget is whole again.
    if args.buffered:
        host, port = args.http_url.rsplit(":", 1)
        held = args.buffered - (1 << 20)
        upload = socket.create_connection((host, int(port)))
        upload.sendall(f"POST /v2/models/{name}/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {held + 1}\r\n\r\n".encode() + b"\0" * held)
        time.sleep(0.5)
        over = grpcclient.InferInput(in_name, [1], "BYTES")
        over.set_data_from_numpy(np.array([b"\0" * (2 << 20)], dtype=np.object_))
        got = status_of(lambda: client.infer(name, [over], headers=auth()))
        check("over_budget", got == "UNAVAILABLE", f"UNAVAILABLE expected, got {got}")
        upload.close()
        # The upload's bytes go back once the server has seen the connection close: under a
        # loaded machine that can take a moment, so ask again for up to 10 s.
        for _ in range(40):
            got = status_of(lambda: client.infer(name, [over], headers=auth()))
            if got != "UNAVAILABLE":
                break
            time.sleep(0.25)
        check("served_after_over_budget", got == "INVALID_ARGUMENT", f"INVALID_ARGUMENT expected (the message is not an image), got {got}")

    # API keys: model methods need one; probes and health do not.
    if args.key:
        for label, call in [
            ("no_key_infer", lambda: client.infer(name, [inp])),
            ("no_key_metadata", lambda: client.get_model_metadata(name)),
            ("wrong_key_infer", lambda: client.infer(name, [inp], headers={"authorization": "Bearer wrong"})),
        ]:
            got = status_of(call)
            check(label, got == "UNAUTHENTICATED", f"UNAUTHENTICATED expected, got {got}")
        check("x_api_key", status_of(lambda: client.get_model_metadata(name, headers={"x-api-key": args.key})) == "OK")

    # gRPC health, as Kubernetes' gRPC probes ask it.
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(args.grpc_url))
    for service in ("", "inference.GRPCInferenceService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service)).status
        check(f"health_{service or 'server'}", status == health_pb2.HealthCheckResponse.SERVING, str(status))
    check("health_unknown", status_of(lambda: health.Check(health_pb2.HealthCheckRequest(service="nope"))) == "NOT_FOUND")
    first = next(health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=5))
    check("health_watch", first.status == health_pb2.HealthCheckResponse.SERVING, str(first))

    # Metrics count gRPC calls by method and code.
    text = urllib.request.urlopen(f"http://{args.http_url}/metrics").read().decode()
    check("metrics", 'model_server_grpc_requests_total{method="inference.GRPCInferenceService/ModelInfer",code="ok"}' in text
          and 'code="notFound"' in text, "gRPC counters missing")

    print(json.dumps({"seen": seen, "failures": failures}))


if __name__ == "__main__":
    main()
