//! The HTTP side of `serve`: axum on tokio (rustls for `--tls`), answering CVM calls on `POST /`
//! and the control calls under `/fleetsim/`. Every answer to a CVM call is HTTP 200 with
//! `Content-Type: application/json` exactly, errors included, as CVM answers: the official
//! SDKs treat another status as a network failure, and the Python SDK reads a JSON error sent
//! with a charset suffix as a success with empty fields.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{any, get, post};
use serde_json::{Map, Value, json};
use tokio::sync::{oneshot, watch};

use super::CvmError;
use super::auth::{self, Credentials, Signed};
use super::backend::{Backend, SimBackend};
use super::clock::ClockMode;
use super::sim_thread::{self, Command};
use crate::scenario::Scenario;

/// The only API version served.
pub const VERSION: &str = "2017-03-12";
/// Largest request body accepted (CVM's own limit for a JSON POST is 10 MB; no CVM call
/// fleetsim serves needs more than a few kB).
pub const MAX_BODY: usize = 1 << 20;
/// A connection that sends no complete request for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the certificate of `--tls` comes from.
#[derive(Clone, Debug)]
pub enum Tls {
    /// A self-signed certificate for 127.0.0.1 and localhost, written to these files.
    Generate { cert: PathBuf, key: PathBuf },
    /// PEM files given with `--tls-cert` and `--tls-key`.
    Files { cert: PathBuf, key: PathBuf },
}

/// How to serve.
pub struct ServeOptions {
    pub scenario: Scenario,
    pub listen: SocketAddr,
    pub clock: ClockMode,
    /// The run folder written on shutdown.
    pub out: PathBuf,
    pub credentials: Credentials,
    pub tls: Option<Tls>,
    /// Unix seconds of simulated time 0.
    pub epoch: i64,
    /// Called once the socket is bound, with its address (port 0 picks a free one).
    pub on_listen: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
}

struct App {
    tx: Mutex<mpsc::Sender<Command>>,
    creds: Credentials,
    requests: AtomicU64,
    /// Set once a stop was asked for; later stops wait for the same outcome.
    stopping: AtomicBool,
    /// The run's outcome, once it has ended.
    outcome: watch::Sender<Option<Result<PathBuf, String>>>,
}

impl App {
    fn send(&self, cmd: Command) -> bool {
        self.tx
            .lock()
            .map(|tx| tx.send(cmd).is_ok())
            .unwrap_or(false)
    }

    /// A RequestId shaped like CVM's (a UUID), unique in the server's life: a scrambled
    /// serial number, so a replayed session gets the same ids.
    fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let mix = |mut z: u64| {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (a, b) = (mix(n), mix(n ^ 0x5555_5555_5555_5555));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// Ends the run once: the first caller asks the simulation to stop, every caller gets the
    /// outcome.
    async fn stop(&self) -> Result<PathBuf, String> {
        if !self.stopping.swap(true, Ordering::SeqCst) {
            let (reply, rx) = oneshot::channel();
            let outcome = if self.send(Command::Stop { reply }) {
                rx.await
                    .unwrap_or_else(|_| Err("the simulation thread ended".into()))
            } else {
                Err("the simulation thread ended".into())
            };
            self.outcome.send_replace(Some(outcome));
        }
        self.stopped().await
    }

    /// Resolves with the outcome once the run has ended.
    async fn stopped(&self) -> Result<PathBuf, String> {
        let mut rx = self.outcome.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(o) => o.clone().unwrap_or_else(|| Err("no outcome".into())),
            Err(_) => Err("the server is shutting down".into()),
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// CVM's answer: `{"Response": {..., "RequestId": ...}}`, HTTP 200 whatever the outcome.
fn cvm_answer(request_id: String, result: Result<Map<String, Value>, CvmError>) -> Response {
    let mut body = match result {
        Ok(m) => m,
        Err(e) => {
            let mut m = Map::new();
            m.insert(
                "Error".into(),
                json!({"Code": e.code, "Message": e.message}),
            );
            m
        }
    };
    body.insert("RequestId".into(), Value::String(request_id));
    json_response(StatusCode::OK, &json!({ "Response": body }))
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, CvmError> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| {
            CvmError::new(
                "InvalidParameter",
                format!("header {name} is not printable ASCII"),
            )
        }),
    }
}

fn required<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, CvmError> {
    header_str(h, name)?
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| CvmError::new("MissingParameter", format!("the header {name} is required")))
}

fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Checks a CVM call up to the point the simulation takes it: (action, region, parameters).
async fn admit(app: &App, req: Request) -> Result<(String, String, Map<String, Value>), CvmError> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        CvmError::new(
            "RequestSizeLimitExceeded",
            format!("the request body is over {MAX_BODY} bytes, or was cut off"),
        )
    })?;
    if parts.method != Method::POST {
        return Err(CvmError::new(
            "UnsupportedProtocol",
            format!(
                "{} is not served: send POST / with a JSON body (the SDKs' default)",
                parts.method
            ),
        ));
    }
    let h = &parts.headers;
    let content_type = header_str(h, "content-type")?.unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(CvmError::new(
            "InvalidParameter",
            format!("Content-Type `{content_type}` is not served: send application/json"),
        ));
    }
    let action = required(h, "x-tc-action")?.to_string();
    let version = required(h, "x-tc-version")?;
    let timestamp = required(h, "x-tc-timestamp")?;
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| {
        CvmError::new(
            "InvalidParameter",
            format!("X-TC-Timestamp `{timestamp}` is not Unix seconds"),
        )
    })?;
    let region = required(h, "x-tc-region")?.to_string();
    let headers: Vec<(String, String)> = h
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    auth::verify(
        &app.creds,
        &Signed {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        },
        timestamp,
        wall_now(),
    )?;
    if version != VERSION {
        return Err(CvmError::new(
            "NoSuchVersion",
            format!("CVM API version `{version}` is not served; fleetsim serves {VERSION}"),
        ));
    }
    let params = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            return Err(CvmError::new(
                "InvalidParameter",
                format!("the body must be a JSON object, not {other}"),
            ));
        }
        Err(e) => {
            return Err(CvmError::new(
                "InvalidParameter",
                format!("the body is not valid JSON: {e}"),
            ));
        }
    };
    Ok((action, region, params))
}

async fn cvm(State(app): State<Arc<App>>, req: Request) -> Response {
    let id = app.request_id();
    let (action, region, params) = match admit(&app, req).await {
        Ok(x) => x,
        Err(e) => return cvm_answer(id, Err(e)),
    };
    let (reply, rx) = oneshot::channel();
    let sent = app.send(Command::Call {
        action,
        region,
        params,
        reply,
    });
    let result = match (sent, rx.await) {
        (true, Ok(r)) => r,
        _ => Err(CvmError::new(
            "ServiceUnavailable",
            "the simulation has stopped; its run folder is written",
        )),
    };
    cvm_answer(id, result)
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({"Error": message.into()}))
}

async fn status(State(app): State<Arc<App>>) -> Response {
    let (reply, rx) = oneshot::channel();
    if app.send(Command::Status { reply })
        && let Ok(v) = rx.await
    {
        return json_response(StatusCode::OK, &v);
    }
    control_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the simulation has stopped",
    )
}

async fn advance(State(app): State<Arc<App>>, req: Request) -> Response {
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return control_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not JSON ({e}); send {{\"By\": \"10m\"}} or {{\"To\": \"3d12h\"}}"
                ),
            );
        }
    };
    let (reply, rx) = oneshot::channel();
    if !app.send(Command::Advance { body, reply }) {
        return control_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulation has stopped",
        );
    }
    match rx.await {
        Ok(Ok(v)) => json_response(StatusCode::OK, &v),
        Ok(Err(m)) => control_error(StatusCode::BAD_REQUEST, m),
        Err(_) => control_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulation has stopped",
        ),
    }
}

async fn stop(State(app): State<Arc<App>>) -> Response {
    match app.stop().await {
        Ok(p) => json_response(
            StatusCode::OK,
            &json!({"RunFolder": p.display().to_string()}),
        ),
        Err(e) => control_error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn not_found() -> Response {
    control_error(
        StatusCode::NOT_FOUND,
        "not served: CVM calls go to POST /, control calls to /fleetsim/status, \
         /fleetsim/advance and /fleetsim/stop",
    )
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", any(cvm))
        .route("/fleetsim/status", get(status))
        .route("/fleetsim/advance", post(advance))
        .route("/fleetsim/stop", post(stop))
        .fallback(not_found)
        .with_state(app)
}

/// Writes a self-signed certificate for 127.0.0.1 and localhost, unless both files already
/// exist (then they are reused, so a client told to trust the certificate once keeps trusting
/// it). Its subject names the moment it was made: clients look trust anchors up by subject,
/// and two certificates with one subject in a bundle would shadow each other.
pub fn write_self_signed(cert: &Path, key: &Path) -> Result<()> {
    if cert.exists() && key.exists() {
        return Ok(());
    }
    let made = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .context("cannot prepare a self-signed certificate")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("fleetsim serve (self-signed, {made})"),
    );
    let key_pair = rcgen::KeyPair::generate().context("cannot generate a key")?;
    let certificate = params
        .self_signed(&key_pair)
        .context("cannot sign the certificate")?;
    for (path, text) in [(cert, certificate.pem()), (key, key_pair.serialize_pem())] {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Serves until Ctrl-C, SIGTERM or `POST /fleetsim/stop`, then writes the run folder and
/// returns its path.
pub fn serve(opts: ServeOptions) -> Result<PathBuf> {
    let ServeOptions {
        scenario,
        listen,
        clock,
        out,
        credentials,
        tls,
        epoch,
        on_listen,
    } = opts;
    let out_for_backend = out.clone();
    let (tx, ready, sim) = sim_thread::spawn(
        move || {
            let b: Box<dyn Backend> = Box::new(SimBackend::new(scenario, &out_for_backend, epoch)?);
            Ok(b)
        },
        clock,
        epoch,
    );
    ready
        .recv()
        .map_err(|_| anyhow!("the simulation thread ended before starting"))?
        .map_err(|e| anyhow!(e))?;
    let app = Arc::new(App {
        tx: Mutex::new(tx),
        creds: credentials,
        requests: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
        outcome: watch::channel(None).0,
    });
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(async move {
        let handle = axum_server::Handle::new();
        let service = router(app.clone()).into_make_service();
        let server = match tls {
            None => {
                let mut s = axum_server::from_tcp(listener)?.handle(handle.clone());
                configure(s.http_builder());
                tokio::spawn(s.first_request_timeout(IDLE_TIMEOUT).serve(service))
            }
            Some(t) => {
                let (cert, key) = match &t {
                    Tls::Generate { cert, key } => {
                        write_self_signed(cert, key)?;
                        (cert, key)
                    }
                    Tls::Files { cert, key } => (cert, key),
                };
                let _ = rustls::crypto::ring::default_provider().install_default();
                let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot use the certificate {} and key {}",
                            cert.display(),
                            key.display()
                        )
                    })?;
                let mut s = axum_server::from_tcp_rustls(listener, config)?.handle(handle.clone());
                configure(s.http_builder());
                tokio::spawn(s.first_request_timeout(IDLE_TIMEOUT).serve(service))
            }
        };
        if let Some(f) = on_listen {
            f(addr);
        }
        // Either a signal or POST /fleetsim/stop ends the run.
        let outcome = tokio::select! {
            _ = wait_for_signal() => app.stop().await,
            o = app.stopped() => o,
        };
        handle.graceful_shutdown(Some(Duration::from_secs(5)));
        let _ = server.await;
        outcome.map_err(|e| anyhow!(e))
    });
    drop(rt);
    let _ = sim.join();
    result
}

/// HTTP/1.1 with keep-alive; a connection idle past [`IDLE_TIMEOUT`] between requests is closed.
fn configure(b: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>) {
    b.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Some(IDLE_TIMEOUT))
        .keep_alive(true);
}
