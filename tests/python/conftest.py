"""Fixtures for driving `fleetsim serve` with the official Tencent Cloud SDK and tccli.

A server is the fleetsim binary (FLEETSIM_BIN, default target/debug/fleetsim) started on a
free loopback port with the manual clock. FLEETSIM_ENDPOINT (host:port) names a server that
is already running, as .ci/run starts one; the tests then share it.
"""

import json
import os
import pathlib
import subprocess
import tempfile
import urllib.request

import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client

REPO = pathlib.Path(__file__).resolve().parents[2]
SECRET_ID = os.environ.setdefault("TENCENTCLOUD_SECRET_ID", "AKIDfleetsimPythonTests")
SECRET_KEY = os.environ.setdefault("TENCENTCLOUD_SECRET_KEY", "fleetsim-python-tests")


class Server:
    """A fleetsim serve process (or one already running, at `endpoint`)."""

    def __init__(self, endpoint, process=None, out=None, scheme="http", cert=None):
        self.endpoint = endpoint
        self.process = process
        self.out = out
        self.scheme = scheme
        self.cert = cert

    @classmethod
    def start(cls, *args, tls=False):
        binary = os.environ.get("FLEETSIM_BIN", str(REPO / "target" / "debug" / "fleetsim"))
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="fleetsim-serve-"))
        out = tmp / "run"
        cmd = [binary, "serve", "--listen", "127.0.0.1:0", "--clock", "manual", "--out", str(out)]
        cmd += list(args)
        if tls:
            cmd.append("--tls")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        if "://" not in line:
            p.kill()
            raise RuntimeError("fleetsim serve did not start: %r %s" % (line, p.stderr.read()))
        scheme, rest = line.split("://", 1)
        scheme = scheme.rsplit(" ", 1)[-1]
        endpoint = rest.split()[0]
        cert = (tmp / "run-cert.pem") if tls else None
        return cls(endpoint, p, out, scheme, cert)

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            "http://%s%s" % (self.endpoint, path), data=data, method=method
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def advance(self, by):
        return self.control("POST", "/fleetsim/advance", {"By": by})

    def status(self):
        return self.control("GET", "/fleetsim/status")

    def stop(self):
        answer = self.control("POST", "/fleetsim/stop", {})
        if self.process is not None:
            self.process.wait(timeout=30)
        return pathlib.Path(answer["RunFolder"])

    def client(self, region="ap-guangzhou", secret_id=SECRET_ID, secret_key=SECRET_KEY):
        cred = credential.Credential(secret_id, secret_key)
        hp = HttpProfile(endpoint=self.endpoint, protocol="http")
        return cvm_client.CvmClient(cred, region, ClientProfile(httpProfile=hp))

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def server():
    """The shared server: FLEETSIM_ENDPOINT's, or one of our own."""
    endpoint = os.environ.get("FLEETSIM_ENDPOINT")
    if endpoint:
        yield Server(endpoint)
        return
    s = Server.start()
    yield s
    s.kill()


@pytest.fixture
def fresh_server():
    """A server of its own, for tests that use up an account-wide limit."""
    s = Server.start()
    yield s
    s.kill()
