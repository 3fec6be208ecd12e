//! AWS Signature Version 4, checked as the services check it: the request's canonical form
//! (method, double-encoded path, sorted query, the headers it lists as signed, the body's
//! SHA-256) is hashed into a string to sign, and the HMAC chain from the configured secret key
//! (aws-sigv4's, the same the SDKs sign with) must give the signature the request carries.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>
//!
//! In two steps, so that nothing of a body is read for a request whose credentials are wrong:
//! `check_head` checks everything the head alone shows (the `Authorization` header's shape, the
//! access key, the credential scope's service and date, the clock skew, `host` signed and every
//! signed header present), then `Pending::verify` checks the signature itself once the payload's
//! hash is known: at once when the client declared it (`x-amz-content-sha256`, or
//! `UNSIGNED-PAYLOAD`), else from the body as received.

use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use aws_smithy_types::date_time::{DateTime, Format};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far a request's `x-amz-date` may be from the emulator's clock (AWS allows 15 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The key pair requests must be signed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Default for Credentials {
    /// `test`/`test`, the keys local AWS emulators conventionally accept.
    fn default() -> Credentials {
        Credentials {
            access_key_id: "test".to_string(),
            secret_access_key: "test".to_string(),
        }
    }
}

/// Why a request's signature is refused; each maps to the exception AWS answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    Missing,
    /// The `Authorization` header or the date is malformed (IncompleteSignatureException).
    #[error("{0}")]
    Incomplete(String),
    /// The access key id is not the configured one (UnrecognizedClientException).
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    /// The credential scope names another service (InvalidSignatureException).
    #[error("Credential should be scoped to correct service: '{0}'. ")]
    WrongService(&'static str),
    /// More than 15 minutes off the emulator's clock (InvalidSignatureException).
    #[error("Signature expired: {signed} is now earlier than {earliest} ({now} - 15 min.)")]
    Expired {
        signed: String,
        earliest: String,
        now: String,
    },
    #[error("Signature not yet current: {signed} is still later than {latest} ({now} + 15 min.)")]
    NotYetCurrent {
        signed: String,
        latest: String,
        now: String,
    },
    /// The recomputed signature differs (InvalidSignatureException).
    #[error(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    )]
    Mismatch,
}

/// What the signature covers before the body: the request line and headers, as received.
#[derive(Clone, Copy, Debug)]
pub struct SignedHead<'a> {
    pub method: &'a str,
    /// The path as sent (already percent-encoded once by the client).
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
}

/// What the signature covers, as received.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent (already percent-encoded once by the client).
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    pub fn head(&self) -> SignedHead<'a> {
        SignedHead {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
        }
    }
}

/// The payload hash a client declared in `x-amz-content-sha256`, in a form the signature can
/// be checked with before the body arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeclaredPayload {
    /// `UNSIGNED-PAYLOAD`: the signature does not cover the body.
    Unsigned,
    /// The body's SHA-256 as 64 lowercase hex digits; the body must then hash to it.
    Sha256(String),
}

impl DeclaredPayload {
    fn of(headers: &HeaderMap) -> Option<DeclaredPayload> {
        let value = headers.get("x-amz-content-sha256")?.as_bytes();
        if value == UNSIGNED_PAYLOAD.as_bytes() {
            return Some(DeclaredPayload::Unsigned);
        }
        let hex = value.len() == 64
            && value
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        hex.then(|| DeclaredPayload::Sha256(String::from_utf8_lossy(value).into_owned()))
    }

    /// The canonical request's last line.
    pub fn hash(&self) -> &str {
        match self {
            DeclaredPayload::Unsigned => UNSIGNED_PAYLOAD,
            DeclaredPayload::Sha256(hash) => hash,
        }
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization<'a>(value: &'a str) -> Result<Authorization<'a>, AuthError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
        .ok_or_else(|| {
            AuthError::Incomplete(format!(
                "Authorization header requires the {ALGORITHM} algorithm."
            ))
        })?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let required = |name: &str, found: Option<&'a str>| {
        found.filter(|v| !v.is_empty()).ok_or_else(|| {
            AuthError::Incomplete(format!(
                "Authorization header requires '{name}' parameter. Authorization={value}"
            ))
        })
    };
    let credential = required("Credential", credential)?;
    let signed_headers = required("SignedHeaders", signed_headers)?;
    let signature = required("Signature", signature)?;
    let scope: Vec<&str> = credential.split('/').collect();
    let &[access_key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(AuthError::Incomplete(format!(
            "Credential should be of the form ACCESS_KEY/DATE/REGION/SERVICE/aws4_request: \
             got '{credential}'."
        )));
    };
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// `20261130T062541Z` as a point in time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let shaped = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    if !shaped {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    let parsed = DateTime::from_str(&rfc3339, Format::DateTime).ok()?;
    SystemTime::try_from(parsed).ok()
}

fn format_amz_date(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(Format::DateTime)
        .map(|t| {
            t.chars()
                .filter(|c| *c != '-' && *c != ':')
                .take(15)
                .collect()
        })
        .map(|t: String| format!("{t}Z"))
        .unwrap_or_default()
}

/// RFC 3986 unreserved characters stay; every other byte is `%XX` (`/` too unless `keep_slash`).
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        if unreserved || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Non-S3 services sign the path encoded twice: the client encodes it once to send it, then
/// once more for the canonical form (so a model id's `:` sent as `%3A` is signed as `%253A`).
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    uri_encode(path, true)
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(name), false),
                uri_encode(&percent_decode(value), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header's values trimmed, inner runs of spaces collapsed, joined with commas.
fn canonical_header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A body's SHA-256 as the canonical request writes it (lowercase hex).
pub fn payload_hash(bytes: &[u8]) -> String {
    sha256_hex(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn canonical_request(head: &SignedHead, signed_headers: &[&str], payload_hash: &str) -> String {
    let headers: String = signed_headers
        .iter()
        .map(|name| {
            let name = name.to_ascii_lowercase();
            let value = canonical_header_value(head.headers, &name);
            format!("{name}:{value}\n")
        })
        .collect();
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{payload_hash}",
        head.method,
        canonical_uri(head.path),
        canonical_query(head.query),
        signed_headers.join(";").to_ascii_lowercase(),
    )
}

/// Equal strings, compared without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A request whose head passed every check but the signature's own, which needs the payload's
/// hash.
#[derive(Debug)]
pub struct Pending<'a> {
    auth: Authorization<'a>,
    amz_date: &'a str,
    signed_at: SystemTime,
    declared: Option<DeclaredPayload>,
}

/// Checks what a request's head shows of its SigV4 signature for `service` (the signing name:
/// `bedrock`, `sagemaker`) against `credentials`, with `now` as the emulator's clock: the
/// `Authorization` header, `x-amz-date` within 15 minutes, the access key, the scope's service
/// and date, `host` among the signed headers and every signed header present.
pub fn check_head<'a>(
    head: &SignedHead<'a>,
    credentials: &Credentials,
    service: &'static str,
    now: SystemTime,
) -> Result<Pending<'a>, AuthError> {
    let headers = head.headers;
    let header = headers.get("authorization").ok_or(AuthError::Missing)?;
    let header = header
        .to_str()
        .map_err(|_| AuthError::Incomplete("The Authorization header is not ASCII.".to_string()))?;
    let auth = parse_authorization(header)?;
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AuthError::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header."
                    .to_string(),
            )
        })?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
        AuthError::Incomplete(format!(
            "X-Amz-Date must be in the ISO8601 Long Format (yyyyMMdd'T'HHmmss'Z'): '{amz_date}'."
        ))
    })?;
    if signed_at + MAX_SKEW < now {
        return Err(AuthError::Expired {
            signed: amz_date.to_string(),
            earliest: format_amz_date(now - MAX_SKEW),
            now: format_amz_date(now),
        });
    }
    if signed_at > now + MAX_SKEW {
        return Err(AuthError::NotYetCurrent {
            signed: amz_date.to_string(),
            latest: format_amz_date(now + MAX_SKEW),
            now: format_amz_date(now),
        });
    }
    if auth.access_key_id != credentials.access_key_id {
        return Err(AuthError::UnknownAccessKey);
    }
    if auth.service != service {
        return Err(AuthError::WrongService(service));
    }
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(AuthError::Incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8]
        )));
    }
    if !auth
        .signed_headers
        .iter()
        .any(|name| name.eq_ignore_ascii_case("host"))
    {
        return Err(AuthError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_string(),
        ));
    }
    // A header signed but not sent: the signature was made over a value this request does not
    // carry, so it cannot match.
    let absent = |name: &&str| headers.get(name.to_ascii_lowercase().as_str()).is_none();
    if auth.signed_headers.iter().any(absent) {
        return Err(AuthError::Mismatch);
    }
    Ok(Pending {
        auth,
        amz_date,
        signed_at,
        declared: DeclaredPayload::of(headers),
    })
}

impl Pending<'_> {
    /// The payload hash the client declared, when the signature can be checked with it before
    /// the body is read.
    pub fn declared(&self) -> Option<&DeclaredPayload> {
        self.declared.as_ref()
    }

    /// Checks the signature over `head` with `payload_hash` as the canonical request's last
    /// line (a declared hash, or the body's as received).
    pub fn verify(
        &self,
        head: &SignedHead,
        payload_hash: &str,
        credentials: &Credentials,
    ) -> Result<(), AuthError> {
        let auth = &self.auth;
        let canonical = canonical_request(head, &auth.signed_headers, payload_hash);
        let scope = format!(
            "{}/{}/{}/aws4_request",
            auth.date, auth.region, auth.service
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{scope}\n{}",
            self.amz_date,
            sha256_hex(canonical.as_bytes())
        );
        let key = generate_signing_key(
            &credentials.secret_access_key,
            self.signed_at,
            auth.region,
            auth.service,
        );
        let expected = calculate_signature(key, string_to_sign.as_bytes());
        if same(&expected, auth.signature) {
            Ok(())
        } else {
            Err(AuthError::Mismatch)
        }
    }
}

/// Checks a whole request's SigV4 signature: `check_head`, then the signature over the body
/// as received (or over `UNSIGNED-PAYLOAD` when the client declared it).
pub fn verify(
    request: &SignedRequest,
    credentials: &Credentials,
    service: &'static str,
    now: SystemTime,
) -> Result<(), AuthError> {
    let head = request.head();
    let pending = check_head(&head, credentials, service, now)?;
    let payload = match pending.declared() {
        Some(DeclaredPayload::Unsigned) => UNSIGNED_PAYLOAD.to_string(),
        _ => sha256_hex(request.body),
    };
    pending.verify(&head, &payload, credentials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// AWS's SigV4 test suite, case get-vanilla:
    /// keys AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830T123600Z.
    fn example() -> (HeaderMap, Credentials, SystemTime) {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
        );
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".to_string(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string(),
        };
        let now = parse_amz_date("20150830T123600Z").unwrap();
        (headers, credentials, now)
    }

    fn get<'a>(headers: &'a HeaderMap, query: &'a str) -> SignedRequest<'a> {
        SignedRequest {
            method: "GET",
            path: "/",
            query,
            headers,
            body: b"",
        }
    }

    #[test]
    fn the_published_example_verifies_and_any_change_breaks_it() {
        let (headers, credentials, now) = example();
        assert_eq!(
            verify(&get(&headers, ""), &credentials, "service", now),
            Ok(())
        );
        // Another query string, body, secret, access key or service: each refused.
        assert_eq!(
            verify(&get(&headers, "a=b"), &credentials, "service", now),
            Err(AuthError::Mismatch)
        );
        let mut posted = get(&headers, "");
        posted.body = b"x".as_slice();
        assert_eq!(
            verify(&posted, &credentials, "service", now),
            Err(AuthError::Mismatch)
        );
        let wrong_secret = Credentials {
            secret_access_key: "nope".to_string(),
            ..credentials.clone()
        };
        assert_eq!(
            verify(&get(&headers, ""), &wrong_secret, "service", now),
            Err(AuthError::Mismatch)
        );
        let other_key = Credentials {
            access_key_id: "AKIDOTHER".to_string(),
            ..credentials.clone()
        };
        assert_eq!(
            verify(&get(&headers, ""), &other_key, "service", now),
            Err(AuthError::UnknownAccessKey)
        );
        assert_eq!(
            verify(&get(&headers, ""), &credentials, "bedrock", now),
            Err(AuthError::WrongService("bedrock"))
        );
    }

    #[test]
    fn a_clock_more_than_15_minutes_off_is_refused() {
        let (headers, credentials, now) = example();
        let late = now + MAX_SKEW + Duration::from_secs(1);
        let error = verify(&get(&headers, ""), &credentials, "service", late).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
             (20150830T125101Z - 15 min.)"
        );
        let early = now - MAX_SKEW - Duration::from_secs(1);
        assert!(matches!(
            verify(&get(&headers, ""), &credentials, "service", early),
            Err(AuthError::NotYetCurrent { .. })
        ));
        let inside = now + MAX_SKEW;
        assert_eq!(
            verify(&get(&headers, ""), &credentials, "service", inside),
            Ok(())
        );
    }

    #[test]
    fn malformed_authorization_headers_name_what_is_missing() {
        let (mut headers, credentials, now) = example();
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
            ),
        );
        let error = verify(&get(&headers, ""), &credentials, "service", now).unwrap_err();
        assert!(error.to_string().contains("'SignedHeaders'"), "{error}");
        headers.remove("authorization");
        assert_eq!(
            verify(&get(&headers, ""), &credentials, "service", now),
            Err(AuthError::Missing)
        );
    }

    /// A `POST` signed by aws-sigv4 (the SDKs' signer) with key `test` and `secret`, its
    /// payload hash sent in `x-amz-content-sha256` when `declare` (as S3 clients do).
    fn sdk_signed(body: &[u8], secret: &str, declare: bool, now: SystemTime) -> HeaderMap {
        use aws_sigv4::http_request::{
            sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
        };
        let identity =
            aws_sdk_bedrockruntime::config::Credentials::new("test", secret, None, None, "test")
                .into();
        let mut settings = SigningSettings::default();
        if declare {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("bedrock")
            .time(now)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let head = [
            ("host", "127.0.0.1:1"),
            ("content-type", "application/json"),
        ];
        let request = SignableRequest::new(
            "POST",
            "http://127.0.0.1:1/model/m%3A0/converse",
            head.into_iter(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        for (name, value) in head {
            headers.insert(name, HeaderValue::from_static(value));
        }
        for header in instructions.into_parts().0 {
            headers.insert(header.name(), header.value().parse().unwrap());
        }
        headers
    }

    fn post<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path: "/model/m%3A0/converse",
            query: "",
            headers,
            body,
        }
    }

    #[test]
    fn a_declared_payload_hash_lets_the_signature_be_checked_before_the_body() {
        let now = parse_amz_date("20261130T062541Z").unwrap();
        let keys = Credentials::default();
        let body = br#"{"messages": []}"#;
        let declared = sdk_signed(body, "test", true, now);
        let request = post(&declared, body);
        let pending = check_head(&request.head(), &keys, "bedrock", now).unwrap();
        let hash = payload_hash(body);
        assert_eq!(
            pending.declared(),
            Some(&DeclaredPayload::Sha256(hash.clone()))
        );
        assert_eq!(pending.verify(&request.head(), &hash, &keys), Ok(()));
        assert_eq!(verify(&request, &keys, "bedrock", now), Ok(()));
        // Signed with another secret: refused on the head and the declared hash alone.
        let wrong = sdk_signed(body, "not-the-secret", true, now);
        let head = post(&wrong, b"").head();
        let pending = check_head(&head, &keys, "bedrock", now).unwrap();
        assert_eq!(
            pending.verify(&head, &hash, &keys),
            Err(AuthError::Mismatch)
        );
        // Without the header, only the body's hash can tell.
        let undeclared = sdk_signed(body, "test", false, now);
        let request = post(&undeclared, body);
        let pending = check_head(&request.head(), &keys, "bedrock", now).unwrap();
        assert_eq!(pending.declared(), None);
        assert_eq!(verify(&request, &keys, "bedrock", now), Ok(()));
        assert_eq!(
            verify(&post(&undeclared, b"{}"), &keys, "bedrock", now),
            Err(AuthError::Mismatch)
        );
    }

    #[test]
    fn host_must_be_signed_and_every_signed_header_sent() {
        let (mut headers, credentials, now) = example();
        headers.remove("host");
        let head = get(&headers, "").head();
        assert_eq!(
            check_head(&head, &credentials, "service", now).unwrap_err(),
            AuthError::Mismatch
        );
        let (mut headers, credentials, now) = example();
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=x-amz-date, Signature=abc",
            ),
        );
        let error = check_head(&get(&headers, "").head(), &credentials, "service", now);
        assert!(
            matches!(&error, Err(AuthError::Incomplete(m)) if m.contains("'Host'")),
            "{error:?}"
        );
    }

    #[test]
    fn paths_are_encoded_twice_and_queries_sorted() {
        assert_eq!(
            canonical_uri("/model/test.fast-model-v1%3A0/converse"),
            "/model/test.fast-model-v1%253A0/converse"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_query("b=2&a=x%20y&a=1"), "a=1&a=x%20y&b=2");
        assert_eq!(
            format_amz_date(parse_amz_date("20261130T062541Z").unwrap()),
            "20261130T062541Z"
        );
        assert_eq!(parse_amz_date("2026-11-30T06:25:41Z"), None);
    }
}
