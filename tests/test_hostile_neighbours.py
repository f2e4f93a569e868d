"""Another local user against exec's endpoint: half-requests by the thousand, resets, smuggled requests."""

from __future__ import annotations

import os
import resource
import socket
import time

from test_endpoint import fetch, start_exec


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_thousands_of_half_requests_neither_starve_the_child_nor_spin(home):
    proc, url, token, _, _ = start_exec(home, "a", "--role", "TerraformRole", "--code", home.code())
    # exec keeps the usual limit of open files; this test process needs more to hold 1100 connections.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    port = int(url.split(":")[2].split("/")[0])
    held = []
    try:
        for _ in range(1100):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                continue  # refused or dropped: the endpoint stays up, that is all that matters here
            s.sendall(b"GET /credentials HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            held.append(s)
        before = cpu_seconds(proc.pid)
        start = time.monotonic()
        status, document = fetch(url, token)
        while status != 200 and time.monotonic() - start < 15:  # as an SDK retries
            status, document = fetch(url, token)
        assert status == 200 and document["AccessKeyId"].startswith("ASIA")
        time.sleep(1)  # a busy loop would burn this second
        assert cpu_seconds(proc.pid) - before < 0.8
    finally:
        for s in held:
            s.close()
        proc.communicate("\n", timeout=30)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
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
