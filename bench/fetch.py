#!/usr/bin/env python3
"""model-fetch vs curl: throughput on one large object from a local S3 server, in one run.

    bench/fetch [--megabytes 200] [--rounds 21]

Starts moto's S3 server (authentication enforced, an IAM user's key), uploads a random object,
then downloads it in turn with
  - `model-fetch` (SigV4, SHA-256 verified, fsync, atomic rename),
  - `curl --aws-sigv4 -o FILE` alone (the issue's yardstick: neither verified nor durable),
  - `curl` then `sync FILE` (durable, like model-fetch, but unverified),
  - `curl` then `sha256sum` then `sync` (the same guarantees as model-fetch, as a pipeline would
    script them),
and reports median MB/s and ratios, with the CPU seconds each download costs the client and the
server (moto runs in this process): on a small machine they bound the wall time.
"""
import argparse
import hashlib
import os
import resource
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
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/model-fetch"))
    ap.add_argument("--markdown")
    args = ap.parse_args()
    data = os.urandom(args.megabytes * 1_000_000)
    digest = hashlib.sha256(data).hexdigest()
    # SHA-256's CPU time for the object on this CPU (OpenSSL's, with the SHA instructions, as
    # model-fetch's BoringSSL): work any verifying fetcher adds to what curl does.
    sha_cpu = []
    for _ in range(3):
        c0 = time.process_time()
        hashlib.sha256(data).digest()
        sha_cpu.append(time.process_time() - c0)
    sha_cpu = statistics.median(sha_cpu)

    def fill(s3):
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="big.bin", Body=data)

    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    server, endpoint, key = start_authenticated_s3("bench", policy, fill)
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
               AWS_REGION="us-east-1")
    tmp = tempfile.mkdtemp(dir=os.path.join(ROOT, ".cache") if os.path.isdir(os.path.join(ROOT, ".cache")) else None)
    out = os.path.join(tmp, "object.bin")
    curl = ["curl", "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{key['AccessKeyId']}:{key['SecretAccessKey']}",
            "-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "-o", out, "-w", "%{time_starttransfer} %{time_total}", f"{endpoint}/bench/big.bin"]
    first_byte = []
    curl_transfer = []  # the plain curl way's seconds from first byte to last, per round

    def run_curl(record=False):
        start, total = map(float, subprocess.run(curl, check=True, capture_output=True, text=True).stdout.split())
        first_byte.append(start)
        if record:
            curl_transfer.append(total - start)

    def check_digest():
        if subprocess.run(["sha256sum", out], check=True, capture_output=True, text=True).stdout.split()[0] != digest:
            raise SystemExit("curl's download does not match")

    ways = {
        "model-fetch": lambda: subprocess.run([args.binary, "s3://bench/big.bin", "--sha256", digest, "--output", out, "--quiet"], env=env,
                                              check=True, stdout=subprocess.DEVNULL),
        "curl": lambda: run_curl(record=True),
        "curl + sync": lambda: (run_curl(), subprocess.run(["sync", out], check=True)),
        "curl + sha256sum + sync": lambda: (run_curl(), check_digest(), subprocess.run(["sync", out], check=True)),
    }
    dd = ["dd", "if=/dev/zero", f"of={out}", "bs=1000000", f"count={args.megabytes}", "conv=fsync"]
    times = {name: [] for name in ways}
    client_cpu = {name: [] for name in ways}  # CPU seconds of the child processes
    server_cpu = {name: [] for name in ways}  # of this process: moto runs in it, on its own threads

    def cpu(who):
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    # The order alternates from round to round: what ran just before (a download's disk writes, a
    # `sync`, the server's last response) must not favour one way every time.
    for round in range(args.rounds):
        for name, way in (list(ways.items()) if round % 2 == 0 else reversed(ways.items())):
            c0, s0, t0 = cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF), time.perf_counter()
            way()
            times[name].append(time.perf_counter() - t0)
            client_cpu[name].append(cpu(resource.RUSAGE_CHILDREN) - c0)
            server_cpu[name].append(cpu(resource.RUSAGE_SELF) - s0)
            os.unlink(out)
    dd_seconds = []  # the disk's durable write speed, for reference
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(dd, check=True, capture_output=True)
        dd_seconds.append(time.perf_counter() - t0)
        os.unlink(out)
    os.rmdir(tmp)
    server.stop()
    mb = args.megabytes
    median = {name: statistics.median(t) for name, t in times.items()}
    rate = {name: mb / t for name, t in median.items()}
    ttfb = statistics.median(first_byte)
    cores = os.cpu_count()
    # Each round downloads with every way back to back, so a round's ratio is a paired measurement.
    pairs = [c / m for c, m in zip(times["curl"], times["model-fetch"])]
    paired = sorted(pairs)
    first, after = statistics.median(pairs[0::2]), statistics.median(pairs[1::2] or pairs)
    # Before the first byte the (single-threaded) server works alone; after it, client and server
    # share the cores. So no download with this much CPU work can be faster than:
    floor = ttfb + (statistics.median(client_cpu["model-fetch"]) + statistics.median(server_cpu["model-fetch"]) - ttfb) / cores
    # A fetcher that receives and writes as curl does and also hashes with SHA-256 does curl's work
    # plus the hash; on a machine whose cores the server shares, that bounds its wall time too.
    bound = ttfb + (statistics.median(client_cpu["curl"]) + statistics.median(server_cpu["curl"]) - ttfb + sha_cpu) / cores
    # SHA-256 is one sequential chain, so even with unlimited cores a verifying fetcher ends no
    # sooner than curl's start-up and first byte plus the hash. In rounds where curl moved the bytes
    # faster than SHA-256 can digest them, that alone caps the ratio below 1:
    serial = [w / (w - x + max(x, sha_cpu)) for w, x in zip(times["curl"], curl_transfer)]
    faster = sum(x < sha_cpu for x in curl_transfer)
    below = sum(b < 0.9 for b in serial)
    table = ("| object | model-fetch MB/s | curl MB/s | curl + sync MB/s | curl + sha256sum + sync MB/s |"
             " model-fetch / curl | model-fetch / (curl + sync) | model-fetch / (curl + sha256sum + sync) |\n"
             "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
             f"| {mb} MB | {rate['model-fetch']:.0f} | {rate['curl']:.0f} | {rate['curl + sync']:.0f} | {rate['curl + sha256sum + sync']:.0f} | "
             f"{rate['model-fetch'] / rate['curl']:.2f} | {rate['model-fetch'] / rate['curl + sync']:.2f} | "
             f"{rate['model-fetch'] / rate['curl + sha256sum + sync']:.2f} |\n\n"
             "| per download (medians) | model-fetch | curl |\n|---|---:|---:|\n"
             f"| wall seconds | {median['model-fetch']:.3f} | {median['curl']:.3f} |\n"
             f"| CPU seconds, client | {statistics.median(client_cpu['model-fetch']):.3f} | {statistics.median(client_cpu['curl']):.3f} |\n"
             f"| CPU seconds, S3 server (moto, same machine) | {statistics.median(server_cpu['model-fetch']):.3f} | {statistics.median(server_cpu['curl']):.3f} |\n\n"
             f"Per round, model-fetch / curl: median {statistics.median(paired):.2f}, range {paired[0]:.2f}–{paired[-1]:.2f} "
             f"(median {first:.2f} in the rounds where model-fetch ran first, {after:.2f} where curl did). "
             f"Time to first byte (curl): {ttfb * 1000:.0f} ms; `dd conv=fsync` of {mb} MB (the disk's durable write): "
             f"{statistics.median(dd_seconds) * 1000:.0f} ms; {cores} cores; {args.rounds} rounds. "
             f"Floor for model-fetch's CPU work here = first byte + (client + server CPU after it) / cores = {floor * 1000:.0f} ms, "
             f"i.e. at most {median['curl'] / floor:.2f} of curl's throughput. "
             f"SHA-256 of the object alone takes {sha_cpu * 1000:.0f} ms of CPU here (OpenSSL, SHA instructions), so curl's work "
             f"plus verifying needs at least first byte + (curl's client + server CPU after it + SHA-256) / cores = {bound * 1000:.0f} ms: "
             f"at most {median['curl'] / bound:.2f} of curl's throughput for a fetcher that receives and writes as curl does and verifies. "
             f"In {faster} of {args.rounds} rounds curl's transfer after the first byte (median {statistics.median(curl_transfer) * 1000:.0f} ms, "
             f"range {min(curl_transfer) * 1000:.0f}–{max(curl_transfer) * 1000:.0f}) was shorter than SHA-256 of the object; "
             f"in {below} round{'' if below == 1 else 's'} that alone put 0.9 of curl's throughput out of reach of any fetcher that verifies SHA-256 "
             f"(bound = curl's wall time / (its wall time − its transfer + max(transfer, SHA-256)); median {statistics.median(serial):.2f}).")
    print(table)
    if args.markdown:
        open(args.markdown, "w").write(table + "\n")


if __name__ == "__main__":
    sys.exit(main())
