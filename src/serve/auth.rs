//! TC3-HMAC-SHA256, the request signature of Tencent Cloud API 3.0, checked the way the
//! service checks it: the client's canonical request is rebuilt from what arrived (method,
//! path, the headers it says it signed, the body's hash), signed with the secret key the
//! server knows for the client's SecretId, and compared with the client's signature.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::CvmError;

/// How long a signature stays valid, either side of the server's wall clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// Who may call.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// One key pair, as the SDKs read it from `TENCENTCLOUD_SECRET_ID` and
    /// `TENCENTCLOUD_SECRET_KEY`.
    Key {
        secret_id: String,
        secret_key: String,
    },
    /// `--any-key`: any well-formed signed request is accepted, its signature unchecked.
    AnyKey,
}

/// What a signature check needs from a request.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Every header as received (names in any case).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Signed<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The UTC date (`YYYY-MM-DD`) of a Unix timestamp: the credential scope's date.
pub fn utc_date(unix: i64) -> String {
    super::clock::iso8601(unix)[..10].to_string()
}

/// The signature of a request, given the canonical headers (`name:value\n` each, lowercase
/// names, in the order of `signed_headers`).
#[allow(clippy::too_many_arguments)]
pub fn signature(
    secret_key: &str,
    method: &str,
    path: &str,
    query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    body: &[u8],
    timestamp: i64,
    service: &str,
) -> String {
    let date = utc_date(timestamp);
    let canonical_request = format!(
        "{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
        sha256_hex(body)
    );
    let scope = format!("{date}/{service}/tc3_request");
    let to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    let k_signing = hmac(&k_service, b"tc3_request");
    hex::encode(hmac(&k_signing, to_sign.as_bytes()))
}

/// The `Authorization` header a client sends for a JSON POST signed over `content-type;host`,
/// as the official SDKs do (used by the tests and the load generator).
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    host: &str,
    body: &[u8],
    timestamp: i64,
) -> String {
    let headers = format!("content-type:application/json\nhost:{host}\n");
    let sig = signature(
        secret_key,
        "POST",
        "/",
        "",
        &headers,
        "content-type;host",
        body,
        timestamp,
        "cvm",
    );
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{}/cvm/tc3_request, \
         SignedHeaders=content-type;host, Signature={sig}",
        utc_date(timestamp)
    )
}

/// The parts of an `Authorization` header.
struct AuthHeader<'a> {
    secret_id: &'a str,
    date: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(h: &str) -> Option<AuthHeader<'_>> {
    let rest = h.strip_prefix("TC3-HMAC-SHA256 ")?;
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => cred = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => sig = Some(v),
            _ => return None,
        }
    }
    let mut c = cred?.split('/');
    let (secret_id, date, service, term) = (c.next()?, c.next()?, c.next()?, c.next()?);
    if term != "tc3_request" || c.next().is_some() || secret_id.is_empty() {
        return None;
    }
    Some(AuthHeader {
        secret_id,
        date,
        service,
        signed_headers: signed?,
        signature: sig?,
    })
}

/// Checks a request's signature. `timestamp` is its `X-TC-Timestamp`, `now` the server's wall
/// clock (Unix seconds).
pub fn verify(
    creds: &Credentials,
    req: &Signed<'_>,
    timestamp: i64,
    now: i64,
) -> Result<(), CvmError> {
    let Some(header) = req.header("authorization") else {
        return Err(CvmError::new(
            "AuthFailure.SignatureFailure",
            "the request has no Authorization header (sign it with TC3-HMAC-SHA256)",
        ));
    };
    let Some(auth) = parse_authorization(header) else {
        return Err(CvmError::new(
            "AuthFailure.InvalidAuthorization",
            "the Authorization header is not `TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/\
             tc3_request, SignedHeaders=..., Signature=...`",
        ));
    };
    if (timestamp - now).abs() > MAX_SKEW_SECS {
        return Err(CvmError::new(
            "AuthFailure.SignatureExpire",
            format!(
                "X-TC-Timestamp {timestamp} is {}s away from the server's clock ({now}); \
                 a signature is valid for {MAX_SKEW_SECS}s",
                (timestamp - now).abs()
            ),
        ));
    }
    let (secret_id, secret_key) = match creds {
        Credentials::AnyKey => return Ok(()),
        Credentials::Key {
            secret_id,
            secret_key,
        } => (secret_id, secret_key),
    };
    if auth.secret_id != secret_id {
        return Err(CvmError::new(
            "AuthFailure.SecretIdNotFound",
            format!(
                "SecretId `{}` is not the one this server knows (TENCENTCLOUD_SECRET_ID)",
                auth.secret_id
            ),
        ));
    }
    if auth.date != utc_date(timestamp) {
        return Err(CvmError::new(
            "AuthFailure.SignatureFailure",
            format!(
                "the credential's date {} is not the UTC date of X-TC-Timestamp",
                auth.date
            ),
        ));
    }
    let mut canonical = String::new();
    for name in auth.signed_headers.split(';') {
        let value = req.header(name).unwrap_or("");
        canonical.push_str(&name.to_ascii_lowercase());
        canonical.push(':');
        canonical.push_str(&value.trim().to_ascii_lowercase());
        canonical.push('\n');
    }
    let body: &[u8] = if req
        .header("x-tc-content-sha256")
        .is_some_and(|v| v == "UNSIGNED-PAYLOAD")
    {
        b"UNSIGNED-PAYLOAD"
    } else {
        req.body
    };
    let expected = signature(
        secret_key,
        req.method,
        req.path,
        req.query,
        &canonical,
        auth.signed_headers,
        body,
        timestamp,
        auth.service,
    );
    if expected != auth.signature {
        return Err(CvmError::new(
            "AuthFailure.SignatureFailure",
            "the signature does not match the request and the secret key",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vector computed by the official Python SDK's own signer (`_get_tc3_signature` of
    /// tencentcloud-sdk-python-common 3.1.195) for the request of Tencent Cloud's "signature
    /// v3" walk-through (DescribeInstances at 1551113065, the documentation's example key),
    /// signed over `content-type;host` as the SDK signs: an implementation independent of ours.
    #[test]
    fn matches_the_official_sdk() {
        let body = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let headers = "content-type:application/json\nhost:cvm.tencentcloudapi.com\n";
        let sig = signature(
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "POST",
            "/",
            "",
            headers,
            "content-type;host",
            body,
            1551113065,
            "cvm",
        );
        assert_eq!(
            sig,
            "683bd0b53659853c39699162253251192320a09b3937e27bf8e08a559b1465b8"
        );
    }

    fn signed_request(auth: &str, body: &'static [u8]) -> (Vec<(String, String)>, &'static [u8]) {
        (
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("Host".into(), "127.0.0.1:9000".into()),
                ("Authorization".into(), auth.into()),
            ],
            body,
        )
    }

    #[test]
    fn verifies_what_it_signs_and_refuses_changes() {
        let creds = Credentials::Key {
            secret_id: "AKIDtest".into(),
            secret_key: "secret".into(),
        };
        let t = 1_700_000_000;
        let body = br#"{"Limit":1}"#;
        let auth = authorization("AKIDtest", "secret", "127.0.0.1:9000", body, t);
        let (headers, body) = signed_request(&auth, body);
        let req = Signed {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        assert_eq!(verify(&creds, &req, t, t + 10), Ok(()));
        let code = |r: Result<(), CvmError>| r.unwrap_err().code;
        assert_eq!(
            code(verify(&creds, &req, t, t + 301)),
            "AuthFailure.SignatureExpire"
        );
        // Another body, another key, another id.
        let tampered = Signed {
            body: br#"{"Limit":2}"#,
            ..req
        };
        assert_eq!(
            code(verify(&creds, &tampered, t, t)),
            "AuthFailure.SignatureFailure"
        );
        let other = Credentials::Key {
            secret_id: "AKIDtest".into(),
            secret_key: "other".into(),
        };
        let req = Signed {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        assert_eq!(
            code(verify(&other, &req, t, t)),
            "AuthFailure.SignatureFailure"
        );
        let stranger = Credentials::Key {
            secret_id: "AKIDother".into(),
            secret_key: "secret".into(),
        };
        assert_eq!(
            code(verify(&stranger, &req, t, t)),
            "AuthFailure.SecretIdNotFound"
        );
        assert_eq!(verify(&Credentials::AnyKey, &req, t, t), Ok(()));
        let (no_auth, _) = signed_request("Basic abc", body);
        let req = Signed {
            headers: &no_auth,
            ..req
        };
        assert_eq!(
            code(verify(&creds, &req, t, t)),
            "AuthFailure.InvalidAuthorization"
        );
    }
}
