#!/usr/bin/env python3
"""model-fetch vs curl: throughput on one large object from a local S3 server, in one run.

    bench/fetch [--megabytes 200] [--rounds 3]

Starts moto's S3 server (authentication enforced, an IAM user's key), uploads a random object,
then downloads it alternately with `model-fetch` (SigV4, SHA-256 verified, atomic rename),
`curl --aws-sigv4` alone, and `curl` followed by `sha256sum` (what a pipeline without model-fetch
runs to verify the artifact), and reports median MB/s and the ratios.
"""
import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Fixtures"))
from s3_server import start_authenticated_s3  # noqa: E402  (the same authenticated moto the tests use)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--megabytes", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/model-fetch"))
    ap.add_argument("--markdown")
    args = ap.parse_args()
    data = os.urandom(args.megabytes * 1_000_000)
    digest = hashlib.sha256(data).hexdigest()

    def fill(s3):
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="big.bin", Body=data)

    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    server, endpoint, key = start_authenticated_s3("bench", policy, fill)
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
               AWS_REGION="us-east-1")
    tmp = tempfile.mkdtemp(dir=os.path.join(ROOT, ".cache") if os.path.isdir(os.path.join(ROOT, ".cache")) else None)
    ours, theirs, verified = [], [], []
    curl = ["curl", "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{key['AccessKeyId']}:{key['SecretAccessKey']}",
            "-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    for _ in range(args.rounds):
        out = os.path.join(tmp, "fetch.bin")
        t0 = time.perf_counter()
        subprocess.run([args.binary, "s3://bench/big.bin", "--sha256", digest, "--output", out, "--quiet"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        ours.append(time.perf_counter() - t0)
        os.unlink(out)
        out = os.path.join(tmp, "curl.bin")
        t0 = time.perf_counter()
        subprocess.run(curl + ["-o", out, f"{endpoint}/bench/big.bin"], check=True)
        theirs.append(time.perf_counter() - t0)
        os.unlink(out)
        t0 = time.perf_counter()
        subprocess.run(curl + ["-o", out, f"{endpoint}/bench/big.bin"], check=True)
        sha = subprocess.run(["sha256sum", out], check=True, capture_output=True, text=True).stdout.split()[0]
        verified.append(time.perf_counter() - t0)
        if sha != digest:
            raise SystemExit("curl's download does not match")
        os.unlink(out)
    os.rmdir(tmp)
    server.stop()
    mb = args.megabytes
    a, b, c = (mb / statistics.median(t) for t in (ours, theirs, verified))
    table = ("| object | model-fetch MB/s | curl MB/s | curl + sha256sum MB/s | model-fetch / curl | model-fetch / (curl + sha256sum) |\n"
             "|---:|---:|---:|---:|---:|---:|\n"
             f"| {mb} MB | {a:.1f} | {b:.1f} | {c:.1f} | {a / b:.2f} | {a / c:.2f} |")
    print(table)
    if args.markdown:
        open(args.markdown, "w").write(table + "\n")


if __name__ == "__main__":
    sys.exit(main())
