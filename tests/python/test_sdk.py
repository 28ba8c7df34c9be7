"""fleetsim serve driven by the official Python SDK (tencentcloud-sdk-python-cvm)."""

import hashlib
import hmac
import json
import time

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.cvm.v20170312 import models

from conftest import SECRET_ID, SECRET_KEY


def req(model, **fields):
    r = getattr(models, model)()
    r.from_json_string(json.dumps(fields))
    return r


def run(client, zone, count=1, itype="S5.MEDIUM4", **extra):
    r = client.RunInstances(
        req("RunInstancesRequest", Placement={"Zone": zone}, InstanceType=itype,
            InstanceCount=count, ImageId="img-ignored", **extra)
    )
    return list(r.InstanceIdSet)


def describe(client, ids):
    return client.DescribeInstances(req("DescribeInstancesRequest", InstanceIds=ids))


def wait_for(server, client, ids, state, step="10s", polls=60):
    """Polls DescribeInstances, moving the clock between polls, until every id is in `state`."""
    for _ in range(polls):
        d = describe(client, ids)
        states = {i.InstanceId: i.InstanceState for i in d.InstanceSet}
        if len(states) == len(ids) and set(states.values()) == {state}:
            return d
        server.advance(step)
    raise AssertionError("not all %s after %d polls: %s" % (state, polls, states))


def test_run_instances_then_poll_until_running(server):
    c = server.client()
    ids = run(c, "ap-guangzhou-3", count=2)
    assert len(ids) == 2 and all(i.startswith("ins-") and len(i) == 12 for i in ids)
    first = describe(c, ids)
    assert first.TotalCount == 2
    assert {i.InstanceState for i in first.InstanceSet} == {"PENDING"}
    assert {i.LatestOperationState for i in first.InstanceSet} == {"OPERATING"}
    d = wait_for(server, c, ids, "RUNNING")
    for inst in d.InstanceSet:
        assert inst.Placement.Zone == "ap-guangzhou-3"
        assert inst.InstanceType == "S5.MEDIUM4"
        assert inst.InstanceChargeType == "POSTPAID_BY_HOUR"
        assert inst.LatestOperation == "RunInstances"
        assert inst.LatestOperationState == "SUCCESS"
        assert inst.CreatedTime.endswith("Z") and inst.CreatedTime.startswith("20")


def test_stop_start_terminate(server):
    c = server.client()
    [i] = run(c, "ap-guangzhou-4")
    wait_for(server, c, [i], "RUNNING")
    c.StopInstances(req("StopInstancesRequest", InstanceIds=[i]))
    assert describe(c, [i]).InstanceSet[0].InstanceState == "STOPPING"
    wait_for(server, c, [i], "STOPPED")
    c.StartInstances(req("StartInstancesRequest", InstanceIds=[i]))
    assert describe(c, [i]).InstanceSet[0].InstanceState == "STARTING"
    wait_for(server, c, [i], "RUNNING")
    c.TerminateInstances(req("TerminateInstancesRequest", InstanceIds=[i]))
    for _ in range(30):
        if describe(c, [i]).TotalCount == 0:
            break
        server.advance("5s")
    assert describe(c, [i]).TotalCount == 0, "a destroyed instance leaves DescribeInstances"
    # Calling it again: CVM's own error for an id that is gone.
    with pytest.raises(TencentCloudSDKException) as e:
        c.StartInstances(req("StartInstancesRequest", InstanceIds=[i]))
    assert e.value.get_code() == "InvalidInstanceId.NotFound"


def test_describe_instances_paging(server):
    c = server.client(region="ap-shanghai")
    ids = set(run(c, "ap-shanghai-2", count=25))
    seen, pages = [], []
    for offset in (0, 10, 20, 30):
        d = c.DescribeInstances(
            req("DescribeInstancesRequest", Limit=10, Offset=offset,
                Filters=[{"Name": "zone", "Values": ["ap-shanghai-2"]}])
        )
        assert d.TotalCount == 25
        pages.append(len(d.InstanceSet))
        seen += [i.InstanceId for i in d.InstanceSet]
    assert pages == [10, 10, 5, 0]
    assert len(seen) == 25 and set(seen) == ids
    # The other region does not list them.
    other = server.client(region="ap-guangzhou").DescribeInstances(
        req("DescribeInstancesRequest", Filters=[{"Name": "zone", "Values": ["ap-shanghai-2"]}])
    )
    assert other.TotalCount == 0


def test_quota_wall_raises_limit_exceeded(server):
    c = server.client(region="ap-shanghai")
    quota = c.DescribeAccountQuota(req("DescribeAccountQuotaRequest"))
    sets = quota.AccountQuotaOverview.AccountQuota.PostPaidQuotaSet
    z4 = next(q for q in sets if q.Zone == "ap-shanghai-4")
    assert (z4.UsedQuota, z4.TotalQuota) == (0, 30)
    with pytest.raises(TencentCloudSDKException) as e:
        run(c, "ap-shanghai-4", count=31)
    assert e.value.get_code() == "LimitExceeded.InstanceQuota"
    assert e.value.get_request_id()
    assert len(run(c, "ap-shanghai-4", count=30)) == 30
    with pytest.raises(TencentCloudSDKException) as e:
        run(c, "ap-shanghai-4")
    assert e.value.get_code() == "LimitExceeded.InstanceQuota"


def test_throttling_raises_request_limit_exceeded(fresh_server):
    # The served account has the 2018 limits: 100 calls per minute for any one action.
    c = fresh_server.client()
    for _ in range(100):
        c.DescribeZoneInstanceConfigInfos(req("DescribeZoneInstanceConfigInfosRequest"))
    with pytest.raises(TencentCloudSDKException) as e:
        c.DescribeZoneInstanceConfigInfos(req("DescribeZoneInstanceConfigInfosRequest"))
    assert e.value.get_code() == "RequestLimitExceeded"
    # Another action has its own allowance; a simulated minute later the window is new.
    c.DescribeAccountQuota(req("DescribeAccountQuotaRequest"))
    fresh_server.advance("1m")
    z = c.DescribeZoneInstanceConfigInfos(
        req("DescribeZoneInstanceConfigInfosRequest",
            Filters=[{"Name": "zone", "Values": ["ap-guangzhou-3"]},
                     {"Name": "instance-charge-type", "Values": ["POSTPAID_BY_HOUR"]}])
    )
    assert {q.Zone for q in z.InstanceTypeQuotaSet} == {"ap-guangzhou-3"}
    assert {q.Status for q in z.InstanceTypeQuotaSet} == {"SELL"}
    assert all(q.Price.UnitPrice > 0 for q in z.InstanceTypeQuotaSet)
    calls = fresh_server.status()["ApiCalls"]
    assert calls == 103


def test_bad_signature(server):
    with pytest.raises(TencentCloudSDKException) as e:
        server.client(secret_key="not-the-key").DescribeInstances(req("DescribeInstancesRequest"))
    assert e.value.get_code() == "AuthFailure.SignatureFailure"
    with pytest.raises(TencentCloudSDKException) as e:
        server.client(secret_id="AKIDstranger").DescribeInstances(req("DescribeInstancesRequest"))
    assert e.value.get_code() == "AuthFailure.SecretIdNotFound"


def tc3_post(endpoint, action, body, region="ap-guangzhou"):
    """A request signed as the SDK signs it, with a body the SDK would never send."""
    ts = int(time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    canonical = "POST\n/\n\ncontent-type:application/json\nhost:%s\n\ncontent-type;host\n%s" % (
        endpoint, hashlib.sha256(body).hexdigest())
    to_sign = "TC3-HMAC-SHA256\n%d\n%s/cvm/tc3_request\n%s" % (
        ts, date, hashlib.sha256(canonical.encode()).hexdigest())

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = h(h(h(("TC3" + SECRET_KEY).encode(), date), "cvm"), "tc3_request")
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "Host": endpoint,
        "X-TC-Action": action,
        "X-TC-Version": "2017-03-12",
        "X-TC-Region": region,
        "X-TC-Timestamp": str(ts),
        "Authorization": "TC3-HMAC-SHA256 Credential=%s/%s/cvm/tc3_request, "
                         "SignedHeaders=content-type;host, Signature=%s" % (SECRET_ID, date, sig),
    }
    return requests.post("http://%s/" % endpoint, data=body, headers=headers, timeout=30)


def test_malformed_body(server):
    r = tc3_post(server.endpoint, "DescribeInstances", b'{"Limit": 5,')
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    err = r.json()["Response"]["Error"]
    assert err["Code"] == "InvalidParameter"
    # The signature itself was right: the same helper with a good body succeeds.
    ok = tc3_post(server.endpoint, "DescribeInstances", b'{"Limit": 5}')
    assert "Error" not in ok.json()["Response"]
    assert r.json()["Response"]["RequestId"] != ok.json()["Response"]["RequestId"]
