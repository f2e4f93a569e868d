"""Another local user against exec's endpoint: half-requests by the thousand, resets, smuggled requests."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time

from conftest import TOOL
from test_endpoint import SHOW_ENDPOINT, fetch, start_exec


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_exec_with_files(home, limit: int):
    """exec (serving a fresh session) in a process that may open only `limit` files."""
    argv = [
        TOOL,
        "exec",
        "-p",
        "a",
        "--role",
        "TerraformRole",
        "--code",
        home.code(),
        "--",
        sys.executable,
        "-c",
        SHOW_ENDPOINT,
    ]
    proc = subprocess.Popen(
        argv,
        env=home.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        ),
    )
    line = proc.stdout.readline()
    assert line, proc.communicate()
    url, token = line.split()[:2]
    return proc, url, token


def test_more_half_requests_than_files_neither_starve_the_child_nor_spin(home):
    # With 200 files, 300 half-requests would leave exec none: it must keep room and stay idle.
    proc, url, token = start_exec_with_files(home, 200)
    port = int(url.split(":")[2].split("/")[0])
    held = []
    try:
        for _ in range(300):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                s.sendall(b"GET /credentials HTTP/1.1\r\nHost: x\r\n")  # and never the rest
                held.append(s)
            except OSError:
                continue  # dropped because the endpoint is full: that is the point
        before = cpu_seconds(proc.pid)
        status, document = fetch(url, token)
        assert status == 200 and document["AccessKeyId"].startswith("ASIA")
        time.sleep(1)  # a busy loop would burn this second
        assert cpu_seconds(proc.pid) - before < 0.8
    finally:
        for s in held:
            s.close()
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0


def test_resets_print_nothing_and_a_smuggled_request_gets_no_answer(home):
    proc, url, token, _, _ = start_exec(home, "a", "--role", "TerraformRole", "--code", home.code())
    port = int(url.split(":")[2].split("/")[0])
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.sendall(b"GET /credentials HTTP/1.1\r\n")
            s.close()  # RST
        second = f"GET /credentials HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n"
        first = (
            f"GET /credentials HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\nContent-Length: {len(second)}\r\n\r\n"
        )
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall((first + second).encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        s.close()
        assert answer.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in answer
        assert fetch(url, token)[0] == 200
    finally:
        _, stderr = proc.communicate("\n", timeout=30)
    assert "Traceback" not in stderr and stderr.count("\n") <= 1, stderr
