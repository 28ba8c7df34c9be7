"""The codes a real account gets (issue 13, items 8-10), through the official Python SDK:
each refusal reaches the SDK as a TencentCloudSDKException carrying the code the action's
documentation lists (data/cvm-sdk/action-errors.tsv).

Instances here live in ap-guangzhou-6 only and the clock does not move, so the shared
server's other tests are not disturbed.
"""

import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.cvm.v20170312 import models

ZONE = "ap-guangzhou-6"


def req(model, **fields):
    r = getattr(models, model)()
    r.from_json_string(json.dumps(fields))
    return r


def code_of(call, model, **fields):
    with pytest.raises(TencentCloudSDKException) as e:
        call(req(model, **fields))
    return e.value.get_code()


def test_run_instances_parameter_codes(server):
    c = server.client()
    base = {"Placement": {"Zone": ZONE}, "InstanceType": "S5.SMALL2", "ImageId": "img-x"}
    assert (
        code_of(c.RunInstances, "RunInstancesRequest", ClientToken="t" * 65, **base)
        == "InvalidClientToken.TooLong"
    )
    assert (
        code_of(c.RunInstances, "RunInstancesRequest", InstanceCount=101, **base)
        == "InvalidParameterValue.Range"
    )
    assert (
        code_of(c.RunInstances, "RunInstancesRequest", InstanceCount=2, MinCount=3, **base)
        == "InvalidParameterValue.InvalidParameterMinCount"
    )


def test_a_pending_instance_answers_with_its_state(server):
    c = server.client()
    r = c.RunInstances(
        req("RunInstancesRequest", Placement={"Zone": ZONE}, InstanceType="S5.SMALL2",
            ImageId="img-x")
    )
    [i] = list(r.InstanceIdSet)
    # StopInstances lists UnsupportedOperation.InstanceStatePending: the state's own code.
    assert (
        code_of(c.StopInstances, "StopInstancesRequest", InstanceIds=[i])
        == "UnsupportedOperation.InstanceStatePending"
    )


def test_describe_instances_filter_codes(server):
    c = server.client()
    assert (
        code_of(c.DescribeInstances, "DescribeInstancesRequest",
                Filters=[{"Name": "colour", "Values": ["red"]}])
        == "InvalidFilter"
    )
    assert (
        code_of(c.DescribeInstances, "DescribeInstancesRequest",
                Filters=[{"Name": "zone", "Values": ["a", "b", "c", "d", "e", "f"]}])
        == "InvalidFilterValue.LimitExceeded"
    )
