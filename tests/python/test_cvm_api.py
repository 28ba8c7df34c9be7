"""The actions a client polls and prices with (issue 13), through the official Python SDK.

Instances here live in ap-guangzhou-6 only, so the shared server's other tests (which count
instances in other zones) are not disturbed, and the clock moves by minutes only.
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


def launch(client, count=1, **extra):
    r = client.RunInstances(
        req("RunInstancesRequest", Placement={"Zone": ZONE}, InstanceType="S5.SMALL2",
            InstanceCount=count, ImageId="img-ignored", **extra)
    )
    return list(r.InstanceIdSet)


def statuses(client, ids):
    r = client.DescribeInstancesStatus(req("DescribeInstancesStatusRequest", InstanceIds=ids))
    return {s.InstanceId: s.InstanceState for s in r.InstanceStatusSet}


def test_describe_regions_and_zones(server):
    c = server.client()
    regions = c.DescribeRegions(req("DescribeRegionsRequest"))
    assert regions.TotalCount == 2
    assert [(r.Region, r.RegionName, r.RegionState) for r in regions.RegionSet] == [
        ("ap-guangzhou", "华南地区(广州)", "AVAILABLE"),
        ("ap-shanghai", "华东地区(上海)", "AVAILABLE"),
    ]
    zones = c.DescribeZones(req("DescribeZonesRequest"))
    assert zones.TotalCount == 3
    assert [(z.Zone, z.ZoneName, z.ZoneId, z.ZoneState) for z in zones.ZoneSet] == [
        ("ap-guangzhou-3", "广州三区", "100003", "AVAILABLE"),
        ("ap-guangzhou-4", "广州四区", "100004", "AVAILABLE"),
        ("ap-guangzhou-6", "广州六区", "100006", "AVAILABLE"),
    ]


def test_describe_instance_type_configs(server):
    c = server.client(region="ap-shanghai")
    every = c.DescribeInstanceTypeConfigs(req("DescribeInstanceTypeConfigsRequest"))
    assert len(every.InstanceTypeConfigSet) == 2 * 5
    one = c.DescribeInstanceTypeConfigs(
        req("DescribeInstanceTypeConfigsRequest",
            Filters=[{"Name": "instance-type", "Values": ["SA2.MEDIUM4"]},
                     {"Name": "zone", "Values": ["ap-shanghai-4"]}])
    )
    [t] = one.InstanceTypeConfigSet
    assert (t.Zone, t.InstanceType, t.InstanceFamily, t.CPU, t.Memory, t.GPU) == (
        "ap-shanghai-4", "SA2.MEDIUM4", "SA2", 2, 4, 0)
    with pytest.raises(TencentCloudSDKException) as e:
        c.DescribeInstanceTypeConfigs(
            req("DescribeInstanceTypeConfigsRequest",
                Filters=[{"Name": "zone", "Values": ["ap-shanghai-2", "ap-shanghai-4"]}])
        )
    assert e.value.get_code() == "InvalidFilterValue.LimitExceeded"


def test_describe_instances_status_and_renew_flag(server):
    c = server.client()
    ids = launch(c, count=2, InstanceChargeType="PREPAID",
                 InstanceChargePrepaid={"Period": 1})
    assert statuses(c, ids) == {i: "PENDING" for i in ids}
    for _ in range(20):
        if set(statuses(c, ids).values()) == {"RUNNING"}:
            break
        server.advance("10s")
    assert statuses(c, ids) == {i: "RUNNING" for i in ids}
    c.ModifyInstancesRenewFlag(
        req("ModifyInstancesRenewFlagRequest", InstanceIds=ids[:1],
            RenewFlag="NOTIFY_AND_AUTO_RENEW")
    )
    d = c.DescribeInstances(req("DescribeInstancesRequest", InstanceIds=ids))
    flags = {i.InstanceId: i.RenewFlag for i in d.InstanceSet}
    assert flags == {ids[0]: "NOTIFY_AND_AUTO_RENEW", ids[1]: "NOTIFY_AND_MANUAL_RENEW"}
    for i in d.InstanceSet:
        assert i.CreatedTime.endswith("Z") and i.ExpiredTime.endswith("Z")
        assert i.StopChargingMode == "NOT_APPLICABLE"
        assert i.LatestOperationErrorMsg is None
    [post] = launch(c)
    with pytest.raises(TencentCloudSDKException) as e:
        c.ModifyInstancesRenewFlag(
            req("ModifyInstancesRenewFlagRequest", InstanceIds=[post],
                RenewFlag="NOTIFY_AND_AUTO_RENEW")
        )
    assert e.value.get_code() in (
        "UnsupportedOperation.InstanceStatePending",
        "OperationDenied.InstanceOperationInProgress",
        "InvalidInstance.NotSupported",
    )
    with pytest.raises(TencentCloudSDKException) as e:
        c.DescribeInstancesStatus(req("DescribeInstancesStatusRequest", InstanceIds=["i-1"]))
    assert e.value.get_code() == "InvalidInstanceId.Malformed"


def test_inquiry_price_run_instances(server):
    """Pricing before buying, through the official client: the embedded account's
    S5.LARGE8 (illustrative) is 0.48 an hour postpaid and 245.28 a month prepaid before the
    published S5 duration discount (a year: 69%)."""
    c = server.client()
    r = c.InquiryPriceRunInstances(
        req("InquiryPriceRunInstancesRequest", Placement={"Zone": ZONE},
            InstanceType="S5.LARGE8", ImageId="img-ignored", InstanceChargeType="PREPAID",
            InstanceChargePrepaid={"Period": 12, "RenewFlag": "NOTIFY_AND_MANUAL_RENEW"})
    )
    p = r.Price.InstancePrice
    # 12 × 245.28 = 2,943.36 listed; × 69% = 2,030.9184, charged to the cent: 2,030.92.
    assert (p.OriginalPrice, p.DiscountPrice, p.Discount) == (2943.36, 2030.92, 69.0)
    assert p.UnitPrice is None
    b = r.Price.BandwidthPrice
    assert (b.UnitPrice, b.ChargeUnit) == (0.0, "HOUR")
    # Postpaid, three of them: per hour, the S5 tiers from the 96th and 360th hour.
    r = c.InquiryPriceRunInstances(
        req("InquiryPriceRunInstancesRequest", Placement={"Zone": ZONE},
            InstanceType="S5.LARGE8", ImageId="img-ignored", InstanceCount=3)
    )
    p = r.Price.InstancePrice
    assert (p.UnitPrice, p.UnitPriceDiscount, p.ChargeUnit) == (1.44, 1.44, "HOUR")
    assert (p.UnitPriceDiscountSecondStep, p.UnitPriceDiscountThirdStep) == (0.72, 0.4896)
    assert p.DiscountPrice is None
    # A period CVM does not sell is refused with its code; nothing was bought meanwhile.
    with pytest.raises(TencentCloudSDKException) as e:
        c.InquiryPriceRunInstances(
            req("InquiryPriceRunInstancesRequest", Placement={"Zone": ZONE},
                InstanceType="S5.LARGE8", ImageId="img-ignored",
                InstanceChargeType="PREPAID", InstanceChargePrepaid={"Period": 13})
        )
    assert e.value.get_code() == "InvalidPeriod"
