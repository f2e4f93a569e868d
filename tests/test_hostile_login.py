"""Hostile: an `aws login` source whose sign-in service stalls, trickles or lies, whose cache file is
cut, mistyped or a FIFO, and which two runs reach through different AWS files."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import TOOL, assert_one_line_failure
from test_hostile_endpoints import FakeEndpoint, black_hole, html, trickle
from test_login import SOURCE, cache_file, login_source, refreshes


def answer(body: bytes, content_type: str = "application/json"):
    def behaviour(conn, stop):
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode() + body)

    return behaviour


def signin_at(url: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL_SIGNIN": url}


# -- 2. a sign-in service that never finishes its answer -------------------------------------------


@pytest.mark.parametrize("behaviour", [black_hole, trickle], ids=["black-hole", "trickle"])
def test_a_stalled_sign_in_service_ends_at_the_credential_process_timeout(home, local_aws, behaviour):
    login_source(home, local_aws, expired=True)
    endpoint = FakeEndpoint(behaviour)
    try:
        start = time.monotonic()
        result = home.run("credential-process", "-p", "tf", "--timeout", "6", env=signin_at(endpoint.url), timeout=60)
        elapsed = time.monotonic() - start
    finally:
        endpoint.close()
    assert_one_line_failure(result, 8, "no complete answer from the AWS sign-in service within 6 s", "[dev-login]")
    assert elapsed < 15, elapsed


def test_a_second_run_waits_for_the_stalled_refresh_only_until_its_own_deadline(home, local_aws):
    login_source(home, local_aws, expired=True)
    arrived = threading.Event()

    def hold(conn, stop):
        arrived.set()
        stop.wait(120)

    endpoint = FakeEndpoint(hold)
    env = {**home.env, **signin_at(endpoint.url), "TERRAFORM_SESSION_TOKEN_AWS_DEADLINE": "12"}
    try:
        first = subprocess.Popen([TOOL, "credential-process", "-p", "tf"], env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert arrived.wait(30), "the first run never asked the sign-in service"
        start = time.monotonic()
        # Another profile on the same login: it waits for the login's lock, not for the profile's.
        second = home.run("credential-process", "-p", "tf2", "--role", "TerraformRole", "--source-profile", SOURCE,
                          "--timeout", "3", env=env, timeout=60)  # fmt: skip
        waited = time.monotonic() - start
        assert first.poll() is None, "the first run still holds the lock while the second gives up"
        _, first_err = first.communicate(timeout=60)
    finally:
        endpoint.close()
    assert_one_line_failure(second, 8, "gave up after 3 s waiting for another terraform-session-token",
                            "aws login session of source profile [dev-login]")  # fmt: skip
    assert waited < 10, waited
    assert first.returncode == 8 and "within 12 s" in first_err, first_err


# -- 6. a sign-in service that answers what AWS never sends ---------------------------------------


ACCESS = {"accessKeyId": "ASIAEXAMPLEEXAMPLE12", "secretAccessKey": "s" * 40, "sessionToken": "t" * 100}


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"<html><body>Please log in to the hotel Wi-Fi</body></html>", "text/html"),
        (json.dumps({"tokenOutput": {"tokenType": "aws_sigv4", "expiresIn": 900, "refreshToken": "r"}}).encode(),
         "application/json"),
        (json.dumps({"tokenOutput": {"accessToken": ACCESS, "expiresIn": "soon", "refreshToken": "r"}}).encode(),
         "application/json"),
    ],
    ids=["captive-portal", "no-access-token", "expires-in-not-a-number"],
)  # fmt: skip
def test_a_sign_in_answer_that_is_not_aws_is_a_network_error(home, local_aws, body, content_type):
    login_source(home, local_aws, expired=True)
    before = cache_file(home).read_bytes()
    endpoint = FakeEndpoint(answer(body, content_type))
    try:
        result = home.run("credential-process", "-p", "tf", env=signin_at(endpoint.url))
    finally:
        endpoint.close()
    assert_one_line_failure(result, 8, "sign-in service's answer to the aws login refresh is not an AWS response")
    assert cache_file(home).read_bytes() == before, "nothing of the answer was written into the login cache"


def test_the_html_of_the_hostile_endpoints_is_a_network_error_too(home, local_aws):
    login_source(home, local_aws, expired=True)
    endpoint = FakeEndpoint(html)
    try:
        result = home.run("env", "-p", "tf", env=signin_at(endpoint.url))
    finally:
        endpoint.close()
    assert_one_line_failure(result, 8, "not an AWS response")


# -- 5. and 10. a login cache that is cut, mistyped or not a file ----------------------------------


def _cut(text: str) -> str:
    return text[: len(text) // 2]


def _access_token_text(text: str) -> str:
    document = json.loads(text)
    document["accessToken"] = "ASIA-not-an-object"
    return json.dumps(document)


def _bad_expiry(text: str) -> str:
    document = json.loads(text)
    document["accessToken"]["expiresAt"] = "tomorrow at noon"
    return json.dumps(document)


def _numeric_key_id(text: str) -> str:
    document = json.loads(text)
    document["accessToken"]["accessKeyId"] = 12345
    return json.dumps(document)


@pytest.mark.parametrize("expired", [True, False], ids=["expired", "valid"])
@pytest.mark.parametrize(
    "corrupt, reason",
    [
        (lambda text: "", "is empty"),
        (_cut, "is cut short or is not JSON"),
        (_access_token_text, "has no accessToken object"),
        (_numeric_key_id, "has no accessToken.accessKeyId text"),
        (_bad_expiry, "has an accessToken.expiresAt that is not a time"),
    ],
    ids=["empty", "cut", "access-token-text", "key-id-number", "bad-expiry"],
)
def test_a_corrupt_login_cache_is_one_line_naming_the_file_and_aws_login(home, local_aws, corrupt, reason, expired):
    login_source(home, local_aws, expired=expired)
    path = cache_file(home)
    path.write_text(corrupt(path.read_text()))
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "tf")
    assert_one_line_failure(result, 5, str(path), reason, "run: aws login --profile dev-login")
    assert local_aws.actions() == [], "nothing was sent"
    doctor = home.run("doctor", "-p", "tf", "--offline")
    assert f"FAIL  source [dev-login] is an aws login session, but the login cache {path} {reason}" in doctor.stdout


def test_a_fifo_as_the_login_cache_is_one_line_and_status_and_doctor_do_not_wait_on_it(home, local_aws):
    login_source(home, local_aws)
    path = cache_file(home)
    path.unlink()
    os.mkfifo(path)
    status = home.run("status", timeout=20)
    assert status.returncode == 0, status.stderr
    assert "run aws login --profile dev-login" in status.stdout
    doctor = home.run("doctor", "-p", "tf", "--offline", timeout=20)
    assert f"the login cache {path} is a FIFO, not a file" in doctor.stdout
    result = home.run("credential-process", "-p", "tf", timeout=20)
    assert_one_line_failure(result, 5, f"{path} is a FIFO, not a file", "remove it, then run: aws login")


# -- 3. one login cache, one lock, whatever the AWS files or the cache directory --------------------


class HeldRelay:
    """An HTTP relay to the local sign-in service that holds each refresh until a second one arrives
    (or 5 s pass): two runs that both refresh are then both in flight with the same refresh token."""

    def __init__(self, target: str):
        self.target = urllib.parse.urlsplit(target)
        self.barrier = threading.Barrier(2, timeout=5)
        self.count = 0
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                relay.count += 1
                try:
                    relay.barrier.wait()
                except threading.BrokenBarrierError:
                    pass
                upstream = http.client.HTTPConnection(relay.target.hostname, relay.target.port, timeout=30)
                upstream.request("POST", self.path, body, headers=dict(self.headers.items()))
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("differ", ["AWS_CONFIG_FILE", "TERRAFORM_SESSION_TOKEN_CACHE"])
def test_runs_that_reach_one_login_through_other_files_refresh_it_once(home, local_aws, tmp_path, differ):
    login = login_source(home, local_aws, expired=True)
    text = home.config.read_text()
    envs = []
    for name in ("a", "b"):
        if differ == "AWS_CONFIG_FILE":
            (tmp_path / f"config-{name}").write_text(text)
            value = str(tmp_path / f"config-{name}")
        else:
            value = str(tmp_path / f"cache-{name}")
        envs.append({differ: value})
    relay = HeldRelay(local_aws.endpoint)
    try:
        procs = [
            subprocess.Popen([TOOL, "credential-process", "-p", "tf"], env={**home.env, **env, **signin_at(relay.url)},
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for env in envs
        ]  # fmt: skip
        results = [p.communicate(timeout=90) + (p.returncode,) for p in procs]
    finally:
        relay.close()
    assert [code for _, _, code in results] == [0, 0], [err for _, err, _ in results]
    assert relay.count == 1 and len(refreshes(home, local_aws)) == 1
    assert json.loads(cache_file(home).read_text())["refreshToken"] == login.refresh_token
