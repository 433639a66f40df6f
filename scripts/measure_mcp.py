"""The Python side of scripts/measure-mcp.sh: the same MCP job in Python
(tests/stack/mcp_python_server.py, the official SDK), measured as the Rust function is:

* process start to the first tools/list answer, one fresh process per run (a cold start;
  the request is sent as soon as the port accepts, a new connection attempt every 2 ms);
* the process's peak RSS (VmHWM) at that answer;
* the size of what a deployment would ship: the SDK and every package it pulls in, zipped
  (boto3 is left out: the Lambda Python runtime has it).

Usage: measure_mcp.py <python> <runs>
"""

import http.client
import importlib.metadata as md
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "tests/stack/mcp_python_server.py")
BODY = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "tools/list",
    "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                         "io.modelcontextprotocol/clientCapabilities": {}}},
})
HEADERS = {
    "content-type": "application/json", "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def one_run(python):
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([python, SERVER, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/mcp", BODY, HEADERS)
                response = conn.getresponse()
                body = response.read()
                if response.status == 200 and b'"tools"' in body:
                    return time.perf_counter() - started, peak_rss_kib(process.pid)
                raise RuntimeError(f"tools/list answered {response.status}: {body[:200]!r}")
            except (ConnectionRefusedError, ConnectionResetError):
                time.sleep(0.002)
        raise RuntimeError("the Python server did not answer within 60 s")
    finally:
        process.kill()
        process.wait()


def closure(name, seen):
    """`name` and every distribution it requires (extras left out)."""
    key = name.lower().replace("_", "-")
    if key in seen:
        return
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return
    seen[key] = dist
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            continue
        closure(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0], seen)


def package_zip_mb():
    seen = {}
    closure("mcp", seen)
    runtime_has = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "package.zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            for key, dist in seen.items():
                if key in runtime_has:
                    continue
                for f in dist.files or []:
                    source = f.locate()
                    if os.path.isfile(source) and "__pycache__" not in str(f):
                        z.write(source, str(f))
        return os.path.getsize(path) / 1048576, len(seen)


def main():
    python, runs = sys.argv[1], int(sys.argv[2])
    times, rss = [], []
    for _ in range(runs):
        elapsed, peak = one_run(python)
        times.append(elapsed * 1000)
        rss.append(peak)
    times.sort()
    rss.sort()
    size, packages = package_zip_mb()
    print(f"{'python mcp server':<28} {times[0]:>8.1f} {times[len(times) // 2]:>8.1f} "
          f"{times[len(times) * 9 // 10]:>8.1f} {times[-1]:>8.1f} {rss[len(rss) // 2] / 1024:>7.1f} MB "
          f"(zip of mcp {md.version('mcp')} and {packages - 1} dependencies: {size:.2f} MB)")
    print(f"  min / p50 / p90 / max ms from process start to the first tools/list answer over HTTP, {runs} runs; RSS p50")


if __name__ == "__main__":
    main()
