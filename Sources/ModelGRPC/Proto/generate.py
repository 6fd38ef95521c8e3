"""Regenerates the committed gRPC Swift code in this folder (`make grpc-proto`).

The two .proto files are not copied from anywhere: their compiled descriptors ship inside PyPI
packages — kserve's `grpc_predict_v2_pb2.py` (the Open Inference Protocol's gRPC service,
`inference.GRPCInferenceService`) and grpcio-health-checking's `health_pb2.py`
(`grpc.health.v1.Health`) — and protoc reads them with `--descriptor_set_in`. protoc itself
comes from grpcio-tools; the Swift plugins are built once from swift-protobuf (via
grpc-swift-protobuf's dependency) and grpc-swift-protobuf, at the versions Package.swift uses.
"""
import ast
import os
import re
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
WHEELS = {"kserve": "0.21.0", "grpcio-health-checking": "1.81.1"}
DESCRIPTORS = {  # wheel → module holding the serialized FileDescriptorProto
    "kserve": "kserve/protocol/grpc/grpc_predict_v2_pb2.py",
    "grpcio-health-checking": "grpc_health/v1/health_pb2.py",
}
GRPCIO_TOOLS = "1.78.2"  # the newest whose protobuf requirement the test venv (tritonclient) allows
PLUGINS = os.path.join(ROOT, ".build-protoc/release")
GRPC_SWIFT_PROTOBUF = "2.4.1"


def run(*args, **kw):
    print("+", " ".join(args), file=sys.stderr)
    subprocess.run(args, check=True, **kw)


def descriptor(wheel_dir, package, module):
    from google.protobuf import descriptor_pb2

    wheel = next(f for f in os.listdir(wheel_dir) if f.startswith(package.replace("-", "_") + "-"))
    source = zipfile.ZipFile(os.path.join(wheel_dir, wheel)).read(module).decode()
    literal = re.search(r"AddSerializedFile\(\s*(b'.*?'(?:\s*b'.*?')*)\s*\)\s*\n", source, re.S).group(1)
    return descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(literal))


def plugins():
    if all(os.path.exists(os.path.join(PLUGINS, p)) for p in ("protoc-gen-swift", "protoc-gen-grpc-swift-2")):
        return
    src = os.path.join(ROOT, ".build-protoc-grpc-src")
    if not os.path.exists(src):
        run("git", "clone", "-q", "--branch", GRPC_SWIFT_PROTOBUF, "https://github.com/grpc/grpc-swift-protobuf", src)
    for product in ("protoc-gen-grpc-swift-2", "protoc-gen-swift"):
        run("swift", "build", "-c", "release", "--product", product, "--package-path", src,
            "--scratch-path", os.path.join(ROOT, ".build-protoc"))


def main():
    from google.protobuf import descriptor_pb2

    plugins()
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
        run(*pip, "download", "--no-deps", "-d", tmp, *[f"{k}=={v}" for k, v in WHEELS.items()])
        run(*pip, "install", "--no-deps", "--target", os.path.join(tmp, "tools"), f"grpcio-tools=={GRPCIO_TOOLS}")
        files = descriptor_pb2.FileDescriptorSet()
        names = []
        for package, module in DESCRIPTORS.items():
            fd = descriptor(tmp, package, module)
            files.file.append(fd)
            names.append(fd.name)
        descriptors = os.path.join(tmp, "descriptors.pb")
        with open(descriptors, "wb") as f:
            f.write(files.SerializeToString())
        env = dict(os.environ, PYTHONPATH=os.path.join(tmp, "tools"))
        run(sys.executable, "-m", "grpc_tools.protoc", f"--descriptor_set_in={descriptors}",
            f"--plugin=protoc-gen-swift={PLUGINS}/protoc-gen-swift",
            f"--plugin=protoc-gen-grpc-swift={PLUGINS}/protoc-gen-grpc-swift-2",
            "--swift_opt=Visibility=Internal,FileNaming=DropPath", f"--swift_out={HERE}",
            "--grpc-swift_opt=Visibility=Internal,FileNaming=DropPath,Server=true,Client=false", f"--grpc-swift_out={HERE}",
            *names, env=env)


if __name__ == "__main__":
    main()
