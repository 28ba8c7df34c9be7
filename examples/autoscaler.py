#!/usr/bin/env python3
"""A small target-tracking autoscaler written against the official Tencent Cloud SDK
(tencentcloud-sdk-python-cvm), the way one would write it for real CVM, run here against
`fleetsim serve --clock manual` for a simulated week.

Every five simulated minutes it reads the fleet with DescribeInstances, computes the instances
a synthetic diurnal load needs at 60 % target utilisation, and launches (RunInstances) or
releases (TerminateInstances) the difference. It spreads launches over zones and moves on to
the next zone when one answers LimitExceeded.InstanceQuota or a stock error; it backs off on
RequestLimitExceeded. Being the only clock-keeper, it moves simulated time itself with
POST /fleetsim/advance and stops the server at the end, which writes the run folder.

    fleetsim serve --clock manual --any-key --out output/autoscaler &
    python3 examples/autoscaler.py --endpoint 127.0.0.1:9000
"""

import argparse
import json
import math
import os
import time
import urllib.request

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client, models

REGION = "ap-guangzhou"
ZONES = ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]
INSTANCE_TYPE = "S5.LARGE8"
CAPACITY_RPS = 100.0  # requests/s one instance serves at 100 % utilisation
TARGET = 0.6  # target utilisation
MIN_INSTANCES = 2
ALIVE = {"PENDING", "RUNNING", "STARTING", "STOPPING", "STOPPED", "REBOOTING"}


def load_rps(t_hours):
    """Synthetic demand: a daily cycle (peak 14:00) and quieter weekends, 300-3,000 req/s."""
    day = (t_hours / 24.0) % 7
    daily = 0.5 - 0.5 * math.cos(2 * math.pi * ((t_hours - 2) % 24) / 24.0)
    weekend = 0.55 if day >= 5 else 1.0
    return 300.0 + 2700.0 * daily * weekend


class Fleetsim:
    """The two fleetsim control calls the autoscaler needs (not part of CVM)."""

    def __init__(self, endpoint):
        self.base = "http://%s/fleetsim" % endpoint

    def _post(self, path, body):
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def advance(self, by):
        return self._post("/advance", {"By": by})

    def stop(self):
        return self._post("/stop", {})


def request(model, **fields):
    r = getattr(models, model)()
    r.from_json_string(json.dumps(fields))
    return r


class Autoscaler:
    def __init__(self, client):
        self.cvm = client
        self.zone = 0
        self.launched = self.released = self.refusals = 0

    def call(self, name, model, **fields):
        """One CVM call; RequestLimitExceeded is retried once, as the SDK's retryer would."""
        for attempt in range(2):
            try:
                return getattr(self.cvm, name)(request(model, **fields))
            except TencentCloudSDKException as e:
                if e.get_code() == "RequestLimitExceeded" and attempt == 0:
                    continue
                raise

    def fleet(self):
        """Ids of our live instances, oldest first (paged 100 at a time)."""
        ids, offset = [], 0
        while True:
            page = self.call("DescribeInstances", "DescribeInstancesRequest",
                             Limit=100, Offset=offset,
                             Filters=[{"Name": "instance-type", "Values": [INSTANCE_TYPE]}])
            ids += [(i.CreatedTime, i.InstanceId) for i in page.InstanceSet
                    if i.InstanceState in ALIVE]
            offset += 100
            if offset >= page.TotalCount:
                return [i for _, i in sorted(ids)]

    def scale_out(self, n):
        for _ in ZONES:
            zone = ZONES[self.zone % len(ZONES)]
            try:
                r = self.call("RunInstances", "RunInstancesRequest",
                              Placement={"Zone": zone}, InstanceType=INSTANCE_TYPE,
                              InstanceCount=min(n, 100), ImageId="img-example")
                self.launched += len(r.InstanceIdSet)
                return
            except TencentCloudSDKException as e:
                code = e.get_code()
                if code.startswith(("LimitExceeded", "ResourceInsufficient", "ResourcesSoldOut")):
                    self.refusals += 1
                    self.zone += 1  # this zone is full: try the next
                    continue
                if code == "RequestLimitExceeded":
                    return  # next round
                raise

    def scale_in(self, ids):
        try:
            self.call("TerminateInstances", "TerminateInstancesRequest", InstanceIds=ids[:100])
            self.released += len(ids[:100])
        except TencentCloudSDKException as e:
            # An instance still booting or busy: try again next round.
            if not e.get_code().startswith(("UnsupportedOperation", "OperationDenied",
                                            "RequestLimitExceeded")):
                raise

    def step(self, t_hours):
        want = max(MIN_INSTANCES, math.ceil(load_rps(t_hours) / (CAPACITY_RPS * TARGET)))
        have = self.fleet()
        if want > len(have):
            self.scale_out(want - len(have))
        elif len(have) > want + 1:  # one instance of hysteresis
            self.scale_in(have[: len(have) - want])
        return want, len(have)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", default="127.0.0.1:9000", help="host:port of fleetsim serve")
    ap.add_argument("--days", type=float, default=7.0, help="simulated days to run")
    ap.add_argument("--step-minutes", type=int, default=5, help="evaluation period")
    args = ap.parse_args()
    cred = credential.Credential(os.environ.get("TENCENTCLOUD_SECRET_ID", "AKIDexample"),
                                 os.environ.get("TENCENTCLOUD_SECRET_KEY", "example"))
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=args.endpoint, protocol="http"))
    scaler = Autoscaler(cvm_client.CvmClient(cred, REGION, profile))
    sim = Fleetsim(args.endpoint)
    started = time.time()
    steps = int(args.days * 24 * 60 / args.step_minutes)
    for k in range(steps):
        t_hours = k * args.step_minutes / 60.0
        want, have = scaler.step(t_hours)
        if k % max(1, 6 * 60 // args.step_minutes) == 0:  # every 6 simulated hours
            print("day %4.1f  load %5.0f req/s  want %3d  have %3d" %
                  (t_hours / 24, load_rps(t_hours), want, have), flush=True)
        sim.advance("%dm" % args.step_minutes)
    folder = sim.stop()["RunFolder"]
    print("launched %d, released %d, %d quota/stock refusals, %.1f s of wall time" %
          (scaler.launched, scaler.released, scaler.refusals, time.time() - started))
    with open(os.path.join(folder, "summary.json")) as f:
        s = json.load(f)
    print("run folder %s: %d instances created, bill %.2f %s" %
          (folder, s["instances_created"], s["cost_total"], s["currency"]))


if __name__ == "__main__":
    main()
