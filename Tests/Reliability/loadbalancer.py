#!/usr/bin/env python3
"""Three model-server replicas behind a real haproxy, under steady load:

1. a rolling restart (SIGTERM, wait for exit, start, wait for ready, next) loses no request;
2. SIGKILL on one replica: haproxy stops sending to it within ~2 s; the failures are counted;
3. the killed replica, restarted, rejoins only once it is ready.

The replicas run with the server's default settings (one OpenMP thread each). With
--haproxy-defaults, haproxy checks at its own default pace (inter 2s, fall 3, rise 2: a replica
is seen DOWN ~6 s after it stops being ready) and only step 1 runs.

Exits non-zero if step 1 loses any request or a check fails; prints the figures as JSON.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from common import Load, Replica, between, default_binary, describe, failures, finish, free_port, latency_ms

HAPROXY_CONFIG = """
global
    stats socket {sock} mode 600 level admin
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch

frontend inference
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /v2/health/ready
    http-check expect status 200
    http-response set-header X-Served-By %s
{checks}
{servers}
"""


class HAProxy:
    def __init__(self, replicas, work, fast_checks=True):
        self.port, self.sock = free_port(), os.path.join(work, "haproxy.sock")
        servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port} check" for r in replicas)
        checks = "    default-server inter 500ms fall 2 rise 2" if fast_checks else ""
        self.config = os.path.join(work, "haproxy.cfg")
        with open(self.config, "w") as f:
            f.write(HAPROXY_CONFIG.format(sock=self.sock, port=self.port, servers=servers, checks=checks))
        self.log = open(os.path.join(work, "haproxy.log"), "wb")

    def start(self):
        self.process = subprocess.Popen(["haproxy", "-db", "-f", self.config], stdout=self.log, stderr=self.log)
        for _ in range(200):
            if os.path.exists(self.sock):
                return self
            time.sleep(0.05)
        raise RuntimeError("haproxy did not start; see haproxy.log")

    def states(self):
        """Server name -> status (UP, DOWN, ...) from the stats socket."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
        return {r["svname"]: r["status"] for r in rows if r["pxname"] == "replicas" and r["svname"] not in ("BACKEND", "FRONTEND")}

    def wait_for(self, name, status, seconds=30):
        """Polls until `name` has `status` (UP may read 'UP 1/2' while rising); returns when."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.states().get(name, "") == status:
                return time.monotonic()
            time.sleep(0.02)
        raise RuntimeError(f"haproxy: {name} not {status} after {seconds} s: {self.states()}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default_binary())
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--haproxy-defaults", action="store_true", help="haproxy's default check pace; the rolling restart only")
    args = parser.parse_args()
    if not shutil.which("haproxy"):
        sys.exit("haproxy is not installed (apt-get install haproxy)")

    work = tempfile.mkdtemp(prefix="lb-test-")
    # One OpenMP thread each: three replicas share two cores. Otherwise the server's defaults:
    # after SIGTERM it answers every request (closing its connection) until none has arrived
    # for DRAIN_QUIET_SECONDS (2 s), however long haproxy takes to see it DOWN.
    env = {"OMP_NUM_THREADS": "1", "LOG_LEVEL": "info"}
    replicas = [Replica(args.binary, f"r{i}", work, env).start() for i in (1, 2, 3)]
    for r in replicas:
        r.wait_ready()
    lb = HAProxy(replicas, work, fast_checks=not args.haproxy_defaults).start()
    figures, problems = {}, []
    load = None
    try:
        for r in replicas:
            lb.wait_for(r.name, "UP")
        load = Load(lb.port, concurrency=args.clients).start()
        time.sleep(2)

        # 1. Rolling restart.
        t0 = time.monotonic()
        for r in replicas:
            r.signal(signal.SIGTERM)
            code = r.wait_exit()
            if code != 0:
                problems.append(f"{r.name} exited with {code} on SIGTERM")
            r.start().wait_ready()
            lb.wait_for(r.name, "UP")
        time.sleep(1)
        t1 = time.monotonic()
        rolling = between(load.results, t0, t1)
        figures["rolling_restart"] = {"seconds": round(t1 - t0, 1), "requests": len(rolling), "failed": len(failures(rolling)),
                                      "p99_ms": round(latency_ms(rolling, 99), 1)}
        print("rolling restart:", describe(rolling), flush=True)
        if failures(rolling):
            problems.append(f"rolling restart lost {len(failures(rolling))} requests: {failures(rolling)[:3]}")
        if not args.haproxy_defaults:

            # 2. SIGKILL one replica.
            victim = replicas[1]
            t_kill = time.monotonic()
            victim.signal(signal.SIGKILL)
            victim.wait_exit()
            t_down = lb.wait_for(victim.name, "DOWN")
            time.sleep(2)
            t2 = time.monotonic()
            killed = between(load.results, t_kill, t2)
            figures["sigkill"] = {"detected_down_after_s": round(t_down - t_kill, 2), "requests": len(killed), "failed": len(failures(killed)),
                                  "failures": sorted({r.error or str(r.status) for r in failures(killed)})}
            print(f"SIGKILL: haproxy marked it DOWN after {t_down - t_kill:.2f} s;", describe(killed), flush=True)
            # Only requests in flight on the killed replica may fail: at most one per client, all
            # sent before haproxy took it out of rotation.
            if len(failures(killed)) > args.clients or any(r.start > t_down for r in failures(killed)):
                problems.append(f"SIGKILL: {len(failures(killed))} failures, more than the requests in flight on the killed replica")
            if t_down - t_kill > 2.5:
                problems.append(f"haproxy took {t_down - t_kill:.2f} s to stop using the killed replica")

            # 3. Restart it: it must be ready before haproxy sends it anything.
            victim.start()
            t_ready = victim.wait_ready()
            t_up = lb.wait_for(victim.name, "UP")
            time.sleep(3)
            t3 = time.monotonic()
            served = [r for r in between(load.results, victim.started, t3) if r.server == victim.name]
            early = [r for r in served if r.start < t_ready]
            rejoin = between(load.results, victim.started, t3)
            figures["rejoin"] = {"start_to_ready_s": round(t_ready - victim.started, 2), "ready_to_up_s": round(t_up - t_ready, 2),
                                 "served_after_up": len(served), "served_before_ready": len(early), "failed": len(failures(rejoin))}
            print(f"rejoin: ready {t_ready - victim.started:.2f} s after start, UP {t_up - t_ready:.2f} s later;"
                  f" it served {len(served)} requests, {len(early)} before ready;", describe(rejoin), flush=True)
            if early or not served or t_up < t_ready:
                problems.append("the restarted replica got traffic before it was ready, or none after")
            if failures(rejoin):
                problems.append(f"{len(failures(rejoin))} requests failed while the replica rejoined")
    finally:
        if load:
            load.stop()
        lb.stop()
        for r in replicas:
            r.stop()
    figures["total_requests"] = len(load.results) if load else 0
    finish(figures, problems, work, args.json)

if __name__ == "__main__":
    main()
