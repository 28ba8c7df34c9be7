//! `fleetsim serve` end to end: a real server (the binary) on a free loopback port, called
//! over HTTP as the SDKs call it, signed with TC3-HMAC-SHA256.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

const ID: &str = "AKIDserveTest";
const KEY: &str = "serve-test-secret";

/// A running `fleetsim serve`, stopped (SIGKILL) if the test fails before stopping it.
struct Server {
    child: Child,
    addr: SocketAddr,
    out: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, name: &str, extra: &[&str]) -> Server {
    let out = dir.join(name);
    let mut child = fleetsim()
        .args(["serve", "--listen", "127.0.0.1:0", "--out"])
        .arg(&out)
        .args(extra)
        .env("TENCENTCLOUD_SECRET_ID", ID)
        .env("TENCENTCLOUD_SECRET_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start fleetsim serve");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in `{line}`"));
    Server { child, addr, out }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One HTTP request on a fresh connection: (status, content-type, body).
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .expect("response");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ct, body.to_vec())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The headers the Python SDK sends, signed with `(id, key)` at `ts`.
fn signed_headers(
    addr: SocketAddr,
    action: &str,
    region: &str,
    body: &[u8],
    id: &str,
    key: &str,
    ts: i64,
) -> Vec<(String, String)> {
    let auth = fleetsim::serve::auth::authorization(id, key, &addr.to_string(), body, ts);
    vec![
        ("content-type".into(), "application/json".into()),
        ("x-tc-action".into(), action.into()),
        ("x-tc-version".into(), "2017-03-12".into()),
        ("x-tc-region".into(), region.into()),
        ("x-tc-timestamp".into(), ts.to_string()),
        ("authorization".into(), auth),
    ]
}

/// A signed CVM call; asserts the wire rules every answer keeps and returns `Response`.
fn call(s: &Server, action: &str, params: Value) -> Value {
    let body = params.to_string().into_bytes();
    let h = signed_headers(s.addr, action, "ap-guangzhou", &body, ID, KEY, now_unix());
    raw_call(s.addr, h, body)
}

fn raw_call(addr: SocketAddr, h: Vec<(String, String)>, body: Vec<u8>) -> Value {
    let (status, ct, body) = rt().block_on(send(addr, "POST", "/", &h, body));
    assert_eq!(status, 200, "CVM answers errors with HTTP 200 too");
    assert_eq!(
        ct, "application/json",
        "Content-Type must be exactly application/json"
    );
    let v: Value = serde_json::from_slice(&body).expect("JSON answer");
    let r = v["Response"].clone();
    let id = r["RequestId"].as_str().expect("RequestId");
    assert_eq!(id.len(), 36, "RequestId is a UUID: {id}");
    r
}

fn error_code(r: &Value) -> &str {
    r["Error"]["Code"].as_str().unwrap_or("")
}

fn control(s: &Server, method: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, ct, b) = rt().block_on(send(
        s.addr,
        method,
        path,
        &[],
        body.to_string().into_bytes(),
    ));
    assert_eq!(ct, "application/json");
    (status, serde_json::from_slice(&b).expect("JSON"))
}

fn stop(mut s: Server) -> PathBuf {
    let (status, v) = control(&s, "POST", "/fleetsim/stop", json!({}));
    assert_eq!(status, 200, "{v}");
    let out = s.out.clone();
    assert_eq!(
        v["RunFolder"].as_str().map(PathBuf::from),
        Some(out.clone())
    );
    let code = s.child.wait().expect("exit");
    assert!(code.success());
    out
}

#[test]
fn lifecycle_through_the_wire_and_the_run_folder() {
    let dir = fresh_dir("serve-lifecycle");
    let s = start(dir.as_ref(), "run", &["--clock", "manual"]);
    let r = call(
        &s,
        "RunInstances",
        json!({"Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.MEDIUM4",
               "InstanceCount": 3, "ImageId": "img-ignored"}),
    );
    let ids: Vec<String> = r["InstanceIdSet"]
        .as_array()
        .expect("InstanceIdSet")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| is_instance_id(i)), "{ids:?}");
    let d = call(&s, "DescribeInstances", json!({"InstanceIds": ids}));
    assert_eq!(d["TotalCount"], 3);
    for inst in d["InstanceSet"].as_array().unwrap() {
        assert_eq!(inst["InstanceState"], "PENDING");
        assert_eq!(inst["LatestOperation"], "RunInstances");
        assert_eq!(inst["LatestOperationState"], "OPERATING");
        assert_eq!(inst["Placement"]["Zone"], "ap-guangzhou-3");
        assert_eq!(inst["InstanceChargeType"], "POSTPAID_BY_HOUR");
        // Simulated time 0 is the documented epoch.
        assert_eq!(inst["CreatedTime"], "2026-01-01T00:00:00Z");
        assert_eq!(inst["ExpiredTime"], Value::Null);
        assert_eq!(inst["InternetAccessible"]["InternetMaxBandwidthOut"], 0);
    }
    // PENDING lasts 30-90 s by default: after 2 minutes every instance runs.
    let (st, t) = control(&s, "POST", "/fleetsim/advance", json!({"By": "2m"}));
    assert_eq!((st, t["NowMs"].as_u64()), (200, Some(120_000)), "{t}");
    assert_eq!(t["NowTime"], "2026-01-01T00:02:00Z");
    let d = call(&s, "DescribeInstances", json!({"InstanceIds": ids}));
    for inst in d["InstanceSet"].as_array().unwrap() {
        assert_eq!(inst["InstanceState"], "RUNNING", "{inst}");
        assert_eq!(inst["LatestOperationState"], "SUCCESS");
    }
    // Stop one; a second stop while it is STOPPING is refused by the control plane with the
    // state's own code, which StopInstances lists.
    let r = call(&s, "StopInstances", json!({"InstanceIds": [ids[0]]}));
    assert!(r.get("Error").is_none(), "{r}");
    let r = call(&s, "StopInstances", json!({"InstanceIds": [ids[0]]}));
    assert_eq!(
        error_code(&r),
        "UnsupportedOperation.InstanceStateStopping",
        "{r}"
    );
    // Paging: Limit 2 gives 2 of 3, Offset 2 the last.
    let p1 = call(&s, "DescribeInstances", json!({"Limit": 2}));
    let p2 = call(&s, "DescribeInstances", json!({"Limit": 2, "Offset": 2}));
    assert_eq!(
        (p1["TotalCount"].clone(), p2["TotalCount"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(p1["InstanceSet"].as_array().unwrap().len(), 2);
    assert_eq!(p2["InstanceSet"].as_array().unwrap().len(), 1);
    // Terminate the others; advance to day 1 12h ("To"), they are gone.
    let r = call(
        &s,
        "TerminateInstances",
        json!({"InstanceIds": [ids[1], ids[2]]}),
    );
    assert!(r.get("Error").is_none(), "{r}");
    let (st, t) = control(&s, "POST", "/fleetsim/advance", json!({"To": "1d12h"}));
    assert_eq!((st, t["Now"].as_str()), (200, Some("1d12h")), "{t}");
    let d = call(&s, "DescribeInstances", json!({}));
    assert_eq!(d["TotalCount"], 1, "{d}");
    assert_eq!(d["InstanceSet"][0]["InstanceState"], "STOPPED");
    // Quotas count the one left, in the call's region only.
    let q = call(&s, "DescribeAccountQuota", json!({}));
    let post = q["AccountQuotaOverview"]["AccountQuota"]["PostPaidQuotaSet"]
        .as_array()
        .unwrap();
    assert!(
        post.iter()
            .all(|z| z["Zone"].as_str().unwrap().starts_with("ap-guangzhou-"))
    );
    let gz3 = post.iter().find(|z| z["Zone"] == "ap-guangzhou-3").unwrap();
    assert_eq!(
        (gz3["UsedQuota"].clone(), gz3["TotalQuota"].clone()),
        (json!(1), json!(30))
    );
    let (_, status) = control(&s, "GET", "/fleetsim/status", json!({}));
    assert_eq!(status["ExternalInstancesAlive"], 1);
    assert!(status["CostSoFar"].as_f64().unwrap() > 0.0, "{status}");
    let out = stop(s);
    // The run folder: the external client's instances under their own owner, its calls
    // counted in api.csv, the summary cut at the stop time.
    let rows = read_instances(&out);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.owner == "external"));
    assert_eq!(
        rows.iter().filter(|r| r.final_state == "RELEASED").count(),
        2
    );
    let api = std::fs::read_to_string(out.join("api.csv")).unwrap();
    assert!(
        api.starts_with("bucket_start_s,action,outcome,calls,retries,give_ups,caller\n"),
        "{api}"
    );
    assert!(
        api.lines().skip(1).all(|l| l.ends_with(",external")),
        "{api}"
    );
    assert!(
        api.contains("0.000,RunInstances,OK,1,0,0,external"),
        "{api}"
    );
    assert!(
        api.contains("StopInstances,UnsupportedOperation.InstanceStateStopping,1,0,0,external"),
        "{api}"
    );
    let summary = read_summary(&out);
    assert_eq!(summary["duration_s"].as_f64(), Some(129_600.0));
    assert_eq!(summary["instances_created"], 3);
}

#[test]
fn every_bad_request_gets_cvms_error_and_the_server_lives_on() {
    let dir = fresh_dir("serve-bad");
    let s = start(dir.as_ref(), "run", &[]);
    let a = s.addr;
    let ts = now_unix();
    let body = b"{}".to_vec();
    let ok = |action: &str, region: &str| signed_headers(a, action, region, &body, ID, KEY, ts);
    let without = |name: &str| -> Vec<(String, String)> {
        ok("DescribeInstances", "ap-guangzhou")
            .into_iter()
            .filter(|(k, _)| k != name)
            .collect()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        ok("DescribeInstances", "ap-guangzhou")
            .into_iter()
            .map(|(k, v)| {
                if k == name {
                    (k, value.to_string())
                } else {
                    (k, v)
                }
            })
            .collect()
    };
    type Case<'a> = (&'a str, Vec<(String, String)>, Vec<u8>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no action",
            without("x-tc-action"),
            body.clone(),
            "MissingParameter",
        ),
        (
            "no version",
            without("x-tc-version"),
            body.clone(),
            "MissingParameter",
        ),
        (
            "no timestamp",
            without("x-tc-timestamp"),
            body.clone(),
            "MissingParameter",
        ),
        (
            "no region",
            without("x-tc-region"),
            body.clone(),
            "MissingParameter",
        ),
        (
            "no signature",
            without("authorization"),
            body.clone(),
            "AuthFailure.SignatureFailure",
        ),
        (
            "garbled signature",
            with("authorization", "TC3-HMAC-SHA256 nonsense"),
            body.clone(),
            "AuthFailure.InvalidAuthorization",
        ),
        (
            "old version",
            with("x-tc-version", "2015-01-01"),
            body.clone(),
            "NoSuchVersion",
        ),
        (
            "unknown action",
            ok("DescribeNothing", "ap-guangzhou"),
            body.clone(),
            "InvalidAction",
        ),
        (
            "wrong region",
            ok("DescribeInstances", "mars-north-1"),
            body.clone(),
            "UnsupportedRegion",
        ),
        (
            "timestamp an hour old",
            signed_headers(
                a,
                "DescribeInstances",
                "ap-guangzhou",
                &body,
                ID,
                KEY,
                ts - 3600,
            ),
            body.clone(),
            "AuthFailure.SignatureExpire",
        ),
        (
            "unknown SecretId",
            signed_headers(
                a,
                "DescribeInstances",
                "ap-guangzhou",
                &body,
                "AKIDnobody",
                KEY,
                ts,
            ),
            body.clone(),
            "AuthFailure.SecretIdNotFound",
        ),
        (
            "wrong key",
            signed_headers(
                a,
                "DescribeInstances",
                "ap-guangzhou",
                &body,
                ID,
                "guess",
                ts,
            ),
            body.clone(),
            "AuthFailure.SignatureFailure",
        ),
        (
            "body changed after signing",
            ok("DescribeInstances", "ap-guangzhou"),
            b"{\"Limit\":5}".to_vec(),
            "AuthFailure.SignatureFailure",
        ),
    ];
    for (what, h, b, code) in cases {
        let r = raw_call(a, h, b);
        assert_eq!(error_code(&r), code, "{what}: {r}");
        assert!(!r["Error"]["Message"].as_str().unwrap().is_empty());
    }
    // Parameter errors need a valid signature over the bad body.
    let signed = |action: &str, b: &[u8]| {
        raw_call(
            a,
            signed_headers(a, action, "ap-guangzhou", b, ID, KEY, ts),
            b.to_vec(),
        )
    };
    for (what, action, b, code) in [
        (
            "malformed JSON",
            "DescribeInstances",
            &b"{\"Limit\": "[..],
            "InvalidParameter",
        ),
        (
            "JSON not an object",
            "DescribeInstances",
            b"[1,2]",
            "InvalidParameter",
        ),
        (
            "unknown field",
            "DescribeInstances",
            b"{\"Colour\":1}",
            "UnknownParameter",
        ),
        (
            "mistyped field",
            "DescribeInstances",
            b"{\"Limit\":\"ten\"}",
            "InvalidParameter",
        ),
        (
            "Limit over 100",
            "DescribeInstances",
            b"{\"Limit\":101}",
            "InvalidParameterValue",
        ),
        (
            "no Placement",
            "RunInstances",
            b"{\"InstanceType\":\"S5.MEDIUM4\"}",
            "MissingParameter",
        ),
        (
            "zone of another region",
            "RunInstances",
            b"{\"Placement\":{\"Zone\":\"ap-shanghai-2\"},\"InstanceType\":\"S5.MEDIUM4\"}",
            "InvalidZone.MismatchRegion",
        ),
        (
            "unknown type",
            "RunInstances",
            b"{\"Placement\":{\"Zone\":\"ap-guangzhou-3\"},\"InstanceType\":\"X9.HUGE\"}",
            "InvalidParameterValue.InstanceTypeNotFound",
        ),
        (
            "malformed id",
            "StartInstances",
            b"{\"InstanceIds\":[\"vm-1\"]}",
            "InvalidInstanceId.Malformed",
        ),
        (
            "unknown id",
            "StartInstances",
            b"{\"InstanceIds\":[\"ins-00000000\"]}",
            "InvalidInstanceId.NotFound",
        ),
    ] {
        let r = signed(action, b);
        assert_eq!(error_code(&r), code, "{what}: {r}");
    }
    // A body over the limit.
    let big = vec![b' '; fleetsim::serve::http::MAX_BODY + 10];
    let r = raw_call(a, ok("DescribeInstances", "ap-guangzhou"), big);
    assert_eq!(error_code(&r), "RequestSizeLimitExceeded");
    // Still serving, and nothing of the above reached the control plane's log.
    let (st, status) = control(&s, "GET", "/fleetsim/status", json!({}));
    assert_eq!(st, 200);
    let calls = status["ApiCalls"].as_u64().unwrap();
    // Only the calls that passed the wire and auth checks and parsed are control-plane calls:
    // Limit 101, the two unknown ids (the control plane's own errors).
    assert_eq!(calls, 3, "{status}");
    // Control calls refuse bad bodies with a plain error.
    let (st, v) = control(&s, "POST", "/fleetsim/advance", json!({"By": "soon"}));
    assert_eq!(st, 400, "{v}");
    let (st, _) = control(&s, "POST", "/fleetsim/advance", json!({"By": "400d"}));
    assert_eq!(st, 400, "past the horizon");
    let (st, _) = control(&s, "GET", "/nowhere", json!({}));
    assert_eq!(st, 404);
    stop(s);
}

#[test]
fn any_key_accepts_any_signer_but_not_an_unsigned_call() {
    let dir = fresh_dir("serve-anykey");
    let s = start(dir.as_ref(), "run", &["--any-key"]);
    let body = b"{}".to_vec();
    let h = signed_headers(
        s.addr,
        "DescribeInstances",
        "ap-guangzhou",
        &body,
        "AKIDanyone",
        "any",
        now_unix(),
    );
    let r = raw_call(s.addr, h.clone(), body.clone());
    assert_eq!(r["TotalCount"], 0, "{r}");
    let unsigned: Vec<_> = h
        .into_iter()
        .filter(|(k, _)| k != "authorization")
        .collect();
    assert_eq!(
        error_code(&raw_call(s.addr, unsigned, body)),
        "AuthFailure.SignatureFailure"
    );
    stop(s);
}

#[test]
fn without_a_key_in_the_environment_serve_refuses_to_start() {
    let o = fleetsim()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("TENCENTCLOUD_SECRET_ID"),
        "{}",
        stderr(&o)
    );
    let o = fleetsim()
        .args(["serve", "--clock", "warp"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("speedup=N"), "{}", stderr(&o));
}

/// The same calls in the same order, with the clock moved by hand, give byte-identical run
/// folders (the scenario's own workloads running beside the client).
#[test]
fn manual_clock_replays_byte_for_byte() {
    let dir = fresh_dir("serve-replay");
    let scn = write_file(
        dir.as_ref(),
        "busy.toml",
        r#"
name = "busy"
seed = 3
duration = "2d"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
quota = { postpaid = 40 }
[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 20 }
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
"#,
    );
    let session = |name: &str| -> PathBuf {
        let s = start(
            dir.as_ref(),
            name,
            &[scn.to_str().unwrap(), "--clock", "manual"],
        );
        for step in 0..6 {
            let r = call(
                &s,
                "RunInstances",
                json!({"Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.MEDIUM4",
                       "InstanceCount": 2, "ClientToken": format!("t{step}")}),
            );
            assert!(
                r.get("Error").is_none() || error_code(&r).starts_with("LimitExceeded"),
                "{r}"
            );
            control(&s, "POST", "/fleetsim/advance", json!({"By": "3h"}));
        }
        stop(s)
    };
    let a = session("a");
    let b = session("b");
    for f in [
        "instances.csv",
        "api.csv",
        "timeseries.csv",
        "quota.csv",
        "costs.csv",
        "report.html",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
    assert_eq!(summary_without_timing(&a), summary_without_timing(&b));
    let api = std::fs::read_to_string(a.join("api.csv")).unwrap();
    let callers: std::collections::BTreeSet<&str> = api
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next())
        .collect();
    assert_eq!(
        callers,
        ["external", "scenario"].into(),
        "both callers, apart"
    );
    // The client's six RunInstances, counted under its own caller only.
    let external_runs: u64 = api
        .lines()
        .filter(|l| l.contains(",RunInstances,") && l.ends_with(",external"))
        .map(|l| l.split(',').nth(3).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(external_runs, 6, "{api}");
    let rows = read_instances(&a);
    assert!(rows.iter().any(|r| r.owner == "external"));
    assert!(
        rows.iter().any(|r| r.owner.starts_with("workload")),
        "the scenario ran too"
    );
}

#[test]
fn sigterm_writes_the_run_folder() {
    let dir = fresh_dir("serve-sigterm");
    let mut s = start(dir.as_ref(), "run", &["--clock", "speedup=600"]);
    call(
        &s,
        "RunInstances",
        json!({"Placement": {"Zone": "ap-guangzhou-4"}, "InstanceType": "S5.LARGE8"}),
    );
    std::thread::sleep(Duration::from_millis(500));
    let (_, status) = control(&s, "GET", "/fleetsim/status", json!({}));
    // 0.5 s of wall time at 600x is about 5 simulated minutes: past PENDING.
    assert!(status["NowMs"].as_u64().unwrap() >= 200_000, "{status}");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let t0 = Instant::now();
    let code = s.child.wait().unwrap();
    assert!(code.success(), "{code:?}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    let rows = read_instances(&s.out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].final_state, "RUNNING");
    // Nothing half-written beside it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.as_ref())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

/// A connection that sends nothing is closed after the idle timeout.
#[test]
fn idle_connections_are_closed() {
    use tokio::io::AsyncReadExt;
    let dir = fresh_dir("serve-idle");
    let s = start(dir.as_ref(), "run", &[]);
    let closed_after = rt().block_on(async {
        let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let t0 = Instant::now();
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(Duration::from_secs(90), c.read(&mut buf)).await;
        assert!(
            matches!(r, Ok(Ok(0)) | Ok(Err(_))),
            "the server closes it: {r:?}"
        );
        t0.elapsed()
    });
    let limit = fleetsim::serve::http::IDLE_TIMEOUT;
    assert!(
        closed_after >= limit - Duration::from_secs(1),
        "{closed_after:?}"
    );
    assert!(
        closed_after < limit + Duration::from_secs(10),
        "{closed_after:?}"
    );
    stop(s);
}

/// Load: 200 concurrent clients, each on its own keep-alive connection, 50,000 signed calls in
/// all, bounded at 5 minutes. Every call is answered once (unique RequestIds, one answer per
/// request on each connection) and counted once by the control plane. Prints throughput and
/// latency percentiles. Run with `cargo test --release --test serve -- --ignored --nocapture`.
#[test]
#[ignore = "load test: about a minute of both cores"]
fn load_200_clients_50k_calls() {
    const CLIENTS: usize = 200;
    const PER_CLIENT: usize = 250;
    let dir = fresh_dir("serve-load");
    let scn = write_file(
        dir.as_ref(),
        "load.toml",
        r#"
name = "load"
duration = "30d"
instance_types = ["S5.MEDIUM4"]
[api]
preset = "unlimited"
[zones.ap-guangzhou-3]
quota = { postpaid = 100000 }
"#,
    );
    let s = start(dir.as_ref(), "run", &[scn.to_str().unwrap()]);
    let addr = s.addr;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let results = rt.block_on(async move {
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            tasks.push(tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .expect("handshake");
                tokio::spawn(conn);
                let mut out = Vec::with_capacity(PER_CLIENT);
                for i in 0..PER_CLIENT {
                    let (action, body) = if (c + i) % 10 == 0 {
                        (
                            "RunInstances",
                            json!({"Placement": {"Zone": "ap-guangzhou-3"},
                                                "InstanceType": "S5.MEDIUM4"}),
                        )
                    } else {
                        ("DescribeInstances", json!({"Limit": 20, "Offset": i % 50}))
                    };
                    let body = body.to_string().into_bytes();
                    let h =
                        signed_headers(addr, action, "ap-guangzhou", &body, ID, KEY, now_unix());
                    let mut req = hyper::Request::builder()
                        .method("POST")
                        .uri("/")
                        .header("host", addr.to_string());
                    for (k, v) in &h {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    let t0 = Instant::now();
                    sender.ready().await.expect("connection ready");
                    let resp = sender
                        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
                        .await
                        .expect("answer");
                    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
                    let latency = t0.elapsed();
                    let v: Value = serde_json::from_slice(&bytes).expect("JSON");
                    assert!(v["Response"].get("Error").is_none(), "{v}");
                    out.push((
                        v["Response"]["RequestId"].as_str().unwrap().to_string(),
                        latency,
                    ));
                }
                out
            }));
        }
        tokio::time::timeout(Duration::from_secs(300), async {
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("client task"));
            }
            all
        })
        .await
        .expect("the load test finishes within 5 minutes")
    });
    let wall = started.elapsed();
    let n = results.len();
    assert_eq!(n, CLIENTS * PER_CLIENT);
    let ids: std::collections::HashSet<&str> = results.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), n, "every answer has its own RequestId");
    let (_, status) = control(&s, "GET", "/fleetsim/status", json!({}));
    assert_eq!(
        status["ApiCalls"].as_u64(),
        Some(n as u64),
        "each call reached the control plane once"
    );
    let mut lat: Vec<Duration> = results.iter().map(|(_, l)| *l).collect();
    lat.sort();
    let pct = |p: f64| lat[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "load: {n} calls from {CLIENTS} connections in {:.2} s = {:.0} calls/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat[n - 1].as_secs_f64() * 1e3
    );
    let out = stop(s);
    assert_eq!(read_instances(&out).len(), CLIENTS * PER_CLIENT / 10);
}

#[test]
fn disks_and_network_given_at_launch_are_listed_back() {
    let dir = fresh_dir("serve-disks");
    let s = start(dir.as_ref(), "run", &[]);
    // Disks and network given at launch are listed back with CVM's names.
    let r = call(
        &s,
        "RunInstances",
        json!({"Placement": {"Zone": "ap-guangzhou-4"}, "InstanceType": "S5.MEDIUM4",
               "SystemDisk": {"DiskType": "CLOUD_SSD", "DiskSize": 80},
               "DataDisks": [{"DiskType": "CLOUD_PREMIUM", "DiskSize": 200}],
               "InternetAccessible": {"InternetChargeType": "BANDWIDTH_POSTPAID_BY_HOUR",
                                      "InternetMaxBandwidthOut": 5}}),
    );
    let disked = r["InstanceIdSet"][0]
        .as_str()
        .expect("launched")
        .to_string();
    let d = call(&s, "DescribeInstances", json!({"InstanceIds": [disked]}));
    let inst = &d["InstanceSet"][0];
    assert_eq!(
        inst["SystemDisk"],
        json!({"DiskType": "CLOUD_SSD", "DiskSize": 80})
    );
    assert_eq!(
        inst["DataDisks"],
        json!([{"DiskType": "CLOUD_PREMIUM", "DiskSize": 200}])
    );
    assert_eq!(inst["InternetAccessible"]["InternetMaxBandwidthOut"], 5);
    let out = stop(s);
    assert_eq!(read_instances(&out).len(), 1);
}

/// A signed call from `region`.
fn call_in(s: &Server, region: &str, action: &str, params: Value) -> Value {
    let body = params.to_string().into_bytes();
    let h = signed_headers(s.addr, action, region, &body, ID, KEY, now_unix());
    raw_call(s.addr, h, body)
}

#[test]
fn polled_actions_answer_cvms_models() {
    let dir = fresh_dir("serve-polls");
    let s = start(dir.as_ref(), "run", &[]);
    // DescribeRegions: the embedded account's two regions, named as CVM names them.
    let r = call(&s, "DescribeRegions", json!({}));
    assert_eq!(r["TotalCount"], 2, "{r}");
    assert_eq!(
        r["RegionSet"][0],
        json!({"Region": "ap-guangzhou", "RegionName": "华南地区(广州)", "RegionState": "AVAILABLE"})
    );
    // DescribeZones: the call's region only, with CVM's numeric ZoneId as a string.
    let z = call(&s, "DescribeZones", json!({}));
    assert_eq!(z["TotalCount"], 3, "{z}");
    assert_eq!(
        z["ZoneSet"][0],
        json!({"Zone": "ap-guangzhou-3", "ZoneName": "广州三区", "ZoneId": "100003",
               "ZoneState": "AVAILABLE"})
    );
    let z = call_in(&s, "ap-shanghai", "DescribeZones", json!({}));
    assert_eq!(z["ZoneSet"][1]["ZoneId"], "200004", "{z}");
    // DescribeInstanceTypeConfigs: 3 zones × 5 types; filters take one value each.
    let c = call(&s, "DescribeInstanceTypeConfigs", json!({}));
    assert_eq!(c["InstanceTypeConfigSet"].as_array().unwrap().len(), 15);
    let c = call(
        &s,
        "DescribeInstanceTypeConfigs",
        json!({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-4"]},
                           {"Name": "instance-family", "Values": ["S5"]}]}),
    );
    let set = c["InstanceTypeConfigSet"].as_array().unwrap();
    assert_eq!(set.len(), 4, "{c}");
    assert_eq!(
        set[2],
        json!({"Zone": "ap-guangzhou-4", "InstanceType": "S5.LARGE8", "InstanceFamily": "S5",
               "GPU": 0, "CPU": 4, "Memory": 8, "FPGA": 0, "GpuCount": 0.0})
    );
    let e = call(
        &s,
        "DescribeInstanceTypeConfigs",
        json!({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3", "ap-guangzhou-4"]}]}),
    );
    assert_eq!(error_code(&e), "InvalidFilterValue.LimitExceeded", "{e}");
    let e = call(
        &s,
        "DescribeInstanceTypeConfigs",
        json!({"Filters": [{"Name": "colour", "Values": ["red"]}]}),
    );
    assert_eq!(error_code(&e), "InvalidFilter", "{e}");
    // Instances: two prepaid in Guangzhou, one postpaid in Shanghai.
    let r = call(
        &s,
        "RunInstances",
        json!({"Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.SMALL2",
               "InstanceCount": 2, "InstanceChargeType": "PREPAID",
               "InstanceChargePrepaid": {"Period": 1}}),
    );
    let ids: Vec<String> = r["InstanceIdSet"]
        .as_array()
        .expect("launched")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let r = call_in(
        &s,
        "ap-shanghai",
        "RunInstances",
        json!({"Placement": {"Zone": "ap-shanghai-2"}, "InstanceType": "S5.SMALL2"}),
    );
    let sh = r["InstanceIdSet"][0]
        .as_str()
        .expect("launched")
        .to_string();
    // DescribeInstancesStatus sees the call's region only.
    let st = call(&s, "DescribeInstancesStatus", json!({}));
    assert_eq!(st["TotalCount"], 2, "{st}");
    assert_eq!(
        st["InstanceStatusSet"][0],
        json!({"InstanceId": ids[0], "InstanceState": "PENDING"})
    );
    let st = call_in(
        &s,
        "ap-shanghai",
        "DescribeInstancesStatus",
        json!({"InstanceIds": [sh]}),
    );
    assert_eq!(
        st["InstanceStatusSet"][0]["InstanceId"],
        sh.as_str(),
        "{st}"
    );
    let e = call(
        &s,
        "DescribeInstancesStatus",
        json!({"InstanceIds": ["i-1"]}),
    );
    assert_eq!(error_code(&e), "InvalidInstanceId.Malformed", "{e}");
    // ModifyInstancesRenewFlag: PENDING is refused; RUNNING takes it and DescribeInstances
    // shows it; a postpaid instance gets InvalidInstance.NotSupported.
    let e = call(
        &s,
        "ModifyInstancesRenewFlag",
        json!({"InstanceIds": [ids[0]], "RenewFlag": "NOTIFY_AND_AUTO_RENEW"}),
    );
    assert!(
        error_code(&e).starts_with("UnsupportedOperation.")
            || error_code(&e).starts_with("OperationDenied."),
        "{e}"
    );
    control(&s, "POST", "/fleetsim/advance", json!({"By": "5m"}));
    let r = call(
        &s,
        "ModifyInstancesRenewFlag",
        json!({"InstanceIds": [ids[0]], "RenewFlag": "NOTIFY_AND_AUTO_RENEW"}),
    );
    assert!(r.get("Error").is_none(), "{r}");
    let e = call(
        &s,
        "ModifyInstancesRenewFlag",
        json!({"InstanceIds": [ids[0]], "RenewFlag": "SOMETIMES"}),
    );
    assert_eq!(error_code(&e), "InvalidParameterValue", "{e}");
    let e = call_in(
        &s,
        "ap-shanghai",
        "ModifyInstancesRenewFlag",
        json!({"InstanceIds": [sh], "RenewFlag": "NOTIFY_AND_AUTO_RENEW"}),
    );
    assert_eq!(error_code(&e), "InvalidInstance.NotSupported", "{e}");
    let d = call(&s, "DescribeInstances", json!({"InstanceIds": ids}));
    let set = d["InstanceSet"].as_array().unwrap();
    assert_eq!(set[0]["RenewFlag"], "NOTIFY_AND_AUTO_RENEW");
    assert_eq!(set[1]["RenewFlag"], "NOTIFY_AND_MANUAL_RENEW");
    // The instance fields a poller reads: CVM's time format, StopChargingMode, no error.
    assert_eq!(set[0]["CreatedTime"], "2026-01-01T00:00:00Z");
    assert_eq!(set[0]["ExpiredTime"], "2026-01-31T00:00:00Z");
    assert_eq!(set[0]["StopChargingMode"], "NOT_APPLICABLE");
    assert_eq!(set[0]["LatestOperationErrorMsg"], Value::Null);
    // A STOPPED postpaid instance shows its stopped mode.
    control(&s, "POST", "/fleetsim/advance", json!({"By": "5m"}));
    let r = call_in(
        &s,
        "ap-shanghai",
        "StopInstances",
        json!({"InstanceIds": [sh], "StoppedMode": "STOP_CHARGING"}),
    );
    assert!(r.get("Error").is_none(), "{r}");
    control(&s, "POST", "/fleetsim/advance", json!({"By": "5m"}));
    let d = call_in(
        &s,
        "ap-shanghai",
        "DescribeInstances",
        json!({"InstanceIds": [sh]}),
    );
    assert_eq!(
        d["InstanceSet"][0]["StopChargingMode"], "STOP_CHARGING",
        "{d}"
    );
    stop(s);
}

/// `charged` and `refunded` of one instance in the run folder's instances.csv.
fn charged_refunded(out: &Path, id: &str) -> (String, String) {
    let mut r = csv::Reader::from_path(out.join("instances.csv")).expect("instances.csv");
    let h = r.headers().expect("header").clone();
    let col = |name: &str| h.iter().position(|c| c == name).expect(name);
    let (c, f) = (col("charged"), col("refunded"));
    r.records()
        .map(|rec| rec.expect("record"))
        .find(|rec| &rec[0] == id)
        .map(|rec| (rec[c].to_string(), rec[f].to_string()))
        .unwrap_or_else(|| panic!("{id} not in instances.csv"))
}

#[test]
fn price_inquiries_answer_cvms_models_and_the_bill_follows() {
    let dir = fresh_dir("serve-inquiry");
    let s = start(dir.as_ref(), "run", &["--clock", "manual"]);
    // The embedded account's S5.LARGE8 (illustrative): 0.48 an hour postpaid (tiered),
    // 0.48 × 511 = 245.28 a month prepaid before the S5 ladder.
    let year = json!({"Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.LARGE8",
                      "ImageId": "img-ignored", "InstanceChargeType": "PREPAID",
                      "InstanceChargePrepaid": {"Period": 12}});
    let q = call(&s, "InquiryPriceRunInstances", year.clone());
    // 12 × 245.28 = 2,943.36; × 69% (S5, 1 year) = 2,030.9184 → 2,030.92.
    assert_eq!(
        q["Price"]["InstancePrice"],
        json!({"OriginalPrice": 2943.36, "DiscountPrice": 2030.92, "Discount": 69.0}),
        "{q}"
    );
    assert_eq!(
        q["Price"]["BandwidthPrice"],
        json!({"UnitPrice": 0.0, "UnitPriceDiscount": 0.0, "ChargeUnit": "HOUR",
               "Discount": 100.0}),
        "no public network: nothing"
    );
    // Postpaid: per hour, with the tiers from the 96th (50%) and 360th (34%) hour.
    let q = call(
        &s,
        "InquiryPriceRunInstances",
        json!({"Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.LARGE8",
               "InstanceCount": 2,
               "InternetAccessible": {"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
                                      "InternetMaxBandwidthOut": 10}}),
    );
    assert_eq!(
        q["Price"]["InstancePrice"],
        json!({"UnitPrice": 0.96, "UnitPriceDiscount": 0.96, "ChargeUnit": "HOUR",
               "UnitPriceSecondStep": 0.96, "UnitPriceDiscountSecondStep": 0.48,
               "UnitPriceThirdStep": 0.96, "UnitPriceDiscountThirdStep": 0.3264,
               "Discount": 100.0}),
        "{q}"
    );
    assert_eq!(q["Price"]["BandwidthPrice"]["ChargeUnit"], "GB", "{q}");
    // What the inquiry's model does not have is refused, as CVM refuses it.
    let mut dry = year.clone();
    dry["DryRun"] = json!(true);
    let e = call(&s, "InquiryPriceRunInstances", dry);
    assert_eq!(error_code(&e), "UnknownParameter", "{e}");
    let e = call(
        &s,
        "InquiryPriceRenewInstances",
        json!({"InstanceIds": ["ins-00000001"]}),
    );
    assert_eq!(error_code(&e), "MissingParameter", "{e}");
    // Buy the year, renew for 3 months, return it inside five days: each quote is the bill.
    let r = call(&s, "RunInstances", year);
    let id = r["InstanceIdSet"][0]
        .as_str()
        .expect("launched")
        .to_string();
    control(&s, "POST", "/fleetsim/advance", json!({"By": "5m"}));
    let q = call(
        &s,
        "InquiryPriceRenewInstances",
        json!({"InstanceIds": [id], "InstanceChargePrepaid": {"Period": 3}}),
    );
    // 3 × 245.28 = 735.84; × 78% (S5, 3–5 months) = 573.9552 → 573.96.
    assert_eq!(
        q["Price"]["InstancePrice"],
        json!({"OriginalPrice": 735.84, "DiscountPrice": 573.96, "Discount": 78.0}),
        "{q}"
    );
    let r = call(
        &s,
        "RenewInstances",
        json!({"InstanceIds": [id], "InstanceChargePrepaid": {"Period": 3}}),
    );
    assert!(r.get("Error").is_none(), "{r}");
    let q = call(
        &s,
        "InquiryPriceTerminateInstances",
        json!({"InstanceIds": [id]}),
    );
    let set = q["InstanceRefundsSet"].as_array().expect("refunds");
    assert_eq!(set.len(), 1, "{q}");
    // The five-day full refund: everything paid, 2,030.92 + 573.96 = 2,604.88.
    assert_eq!(set[0]["InstanceId"], id.as_str());
    assert_eq!(set[0]["Refunds"], json!(2604.88), "{q}");
    assert!(
        set[0]["PriceDetail"].as_str().unwrap().contains("five-day"),
        "{q}"
    );
    let r = call(&s, "TerminateInstances", json!({"InstanceIds": [id]}));
    assert!(r.get("Error").is_none(), "{r}");
    let out = stop(s);
    assert_eq!(
        charged_refunded(&out, &id),
        ("2604.880000".to_string(), "2604.880000".to_string())
    );
}
