"""Hostile: endpoints that trickle, hang, lie, drop the connection or are not URLs at all."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from conftest import assert_one_line_failure


class FakeEndpoint:
    """A TCP server on 127.0.0.1 that answers every connection with `behaviour(conn)`."""

    def __init__(self, behaviour):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.behaviour = behaviour
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn) -> None:
        try:
            _read_request(conn)
            self.behaviour(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def _read_request(conn) -> None:
    """The whole request, headers and body: a server that answers and closes with part of the
    request unread makes the kernel reset the connection, and the client sees that instead."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def trickle(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while not stop.wait(0.3):  # one byte every 0.3 s: each read is well under the read timeout
        conn.sendall(b"<")


def black_hole(conn, stop):
    stop.wait(120)


def html(conn, stop):
    body = b"<html><body>Please log in to the hotel Wi-Fi</body></html>"
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def garbage(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n\x00\xff\x13garbage!")


def dropped(conn, stop):
    conn.close()


@pytest.fixture
def endpoint(request):
    server = FakeEndpoint(request.param)
    yield server
    server.close()


def refresh_against(home, url, deadline="2"):
    start = time.monotonic()
    result = home.run(
        "--role", "arn:aws:iam::123456789012:role/TerraformRole", "--serial", home.identity.serial,
        "--code", "123456", "--endpoint-url", url,
        env={"TERRAFORM_SESSION_TOKEN_AWS_DEADLINE": deadline},
    )  # fmt: skip
    return result, time.monotonic() - start


@pytest.mark.parametrize("endpoint", [trickle, black_hole], indirect=True, ids=["trickle", "black-hole"])
def test_a_slow_endpoint_ends_at_the_deadline(home, endpoint):
    before = home.credentials.read_bytes()
    result, elapsed = refresh_against(home, endpoint.url)
    assert_one_line_failure(result, 8, "no complete answer", "within 2 s")
    assert elapsed < 15
    assert home.credentials.read_bytes() == before


@pytest.mark.parametrize("endpoint", [html, garbage], indirect=True, ids=["html", "garbage"])
def test_an_answer_that_is_not_aws_is_a_network_error(home, endpoint):
    result, _ = refresh_against(home, endpoint.url, deadline="20")
    assert_one_line_failure(result, 8, "not an AWS response")


@pytest.mark.parametrize("endpoint", [dropped], indirect=True)
def test_a_dropped_connection_is_a_network_error(home, endpoint):
    result, _ = refresh_against(home, endpoint.url, deadline="20")
    assert_one_line_failure(result, 8, "can't reach")


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com", "http://", "https://host:99999", "http://a b"])
def test_an_endpoint_that_is_not_an_http_url_is_a_usage_error(home, url, local_aws):
    local_aws.reset_requests()
    result, _ = refresh_against(home, url)
    assert_one_line_failure(result, 2, "is not an http(s) URL")


def test_an_endpoint_url_in_the_environment_is_checked_too(home):
    result = home.run("--role", "TerraformRole", "--code", "123456", env={"AWS_ENDPOINT_URL": "not a url"})
    assert_one_line_failure(result, 2, "AWS_ENDPOINT_URL")


@pytest.mark.parametrize("region", ["x;y", "us-east-1 ", "", "-bad"])
def test_a_region_that_is_not_a_region_is_a_usage_error(home, region):
    result = home.run("--role", "TerraformRole", "--code", "123456", f"--region={region}")
    if region == "":  # an empty flag means "not given": whatever happens next is not about the region
        assert "region" not in result.stderr
        return
    assert_one_line_failure(result, 2, "is not a region name")
