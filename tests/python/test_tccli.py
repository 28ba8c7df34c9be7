"""tccli against `fleetsim serve --tls`: tccli speaks only HTTPS and verifies the server with
certifi's bundle, so the test trusts the server's self-signed certificate the way the README
says, by appending it to that bundle. It does so only in a virtual environment made for the
purpose (FLEETSIM_TRUST_CERTIFI=1, set by .ci/run): elsewhere it would change your venv."""

import json
import os
import pathlib
import subprocess
import sys

import certifi
import pytest

from conftest import SECRET_ID, SECRET_KEY, Server

TCCLI = str(pathlib.Path(sys.executable).with_name("tccli"))


@pytest.fixture
def tls_server():
    if os.environ.get("FLEETSIM_TRUST_CERTIFI") != "1":
        pytest.skip("set FLEETSIM_TRUST_CERTIFI=1 in a throwaway venv to let the test edit certifi")
    s = Server.start(tls=True)
    with open(certifi.where(), "a") as bundle, open(s.cert) as cert:
        bundle.write("\n# fleetsim serve (test)\n" + cert.read())
    yield s
    s.kill()


def tccli(server, *args):
    cmd = [TCCLI, "cvm", *args, "--endpoint", server.endpoint, "--region", "ap-guangzhou",
           "--secretId", SECRET_ID, "--secretKey", SECRET_KEY]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "%s\n%s\n%s" % (cmd, p.stdout, p.stderr)
    return json.loads(p.stdout)


def test_tccli_run_and_describe_over_https(tls_server):
    assert tls_server.scheme == "https"
    out = tccli(tls_server, "RunInstances", "--Placement", '{"Zone":"ap-guangzhou-3"}',
                "--InstanceType", "S5.MEDIUM4", "--InstanceCount", "2")
    ids = out["InstanceIdSet"]
    assert len(ids) == 2
    d = tccli(tls_server, "DescribeInstances", "--InstanceIds", json.dumps(ids))
    assert d["TotalCount"] == 2
    assert {i["InstanceId"] for i in d["InstanceSet"]} == set(ids)
    assert {i["InstanceState"] for i in d["InstanceSet"]} == {"PENDING"}
