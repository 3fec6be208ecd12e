//! What every bedrock-runtime and SageMaker operation does first, in this order, so that nothing
//! of a body is kept for a sender who cannot be who it claims:
//!
//! 1. The signature's head checks (`sigv4::check_head`: the `Authorization` header, the access
//!    key, the credential scope, the date and its skew, the signed headers). A request they
//!    refuse is answered before any of its body is read.
//! 2. When the client declared the payload's hash (`x-amz-content-sha256`, or
//!    `UNSIGNED-PAYLOAD`), the signature itself, also before the body.
//! 3. The body, read within the body deadline (`body_deadline`) and the service's size limit
//!    (an oversized one is drained, not kept, and answered in the service's error shape). A body
//!    whose signature is still unchecked (the SDKs' usual case: they do not send
//!    `x-amz-content-sha256` to these services) is kept against a byte budget shared by all
//!    such bodies (`UNVERIFIED_BODY_BYTES`); past it the request is refused with the service's
//!    503 at once.
//! 4. The signature over the body as received (or the body against its declared hash).
//!
//! A request refused before its body was read (or partly read) is answered with
//! `connection: close`, unless its body is small enough to have come with its head
//! (`SMALL_BODY_BYTES`), which hyper then reads and drops so the connection lives on.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::{AwsError, Service};
use super::sigv4::{self, AuthError, Credentials, DeclaredPayload, SignedHead};

/// InvokeModel's `body`: "Length Constraints: Maximum length of 25000000" (Bedrock API
/// reference); applied to Converse bodies too.
pub const BEDROCK_MAX_BODY_BYTES: usize = 25_000_000;
/// InvokeEndpoint's `Body`: 6 MB, "Maximum length of 6291456" (SageMaker API reference).
pub const SAGEMAKER_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// An oversized body is read and dropped up to this many bytes, so the client, still sending,
/// gets the error rather than a reset connection; past it (or when its declared length is past
/// it) the connection is closed.
const DRAIN_BYTES: usize = 256 * 1024 * 1024;

/// The most a request's body may take to arrive, from the moment its head has: 30 s, enough
/// for a 25 MB body at under 1 MB/s. The emulator's deadline is this or `--idle-timeout`,
/// whichever is smaller (`body_deadline`): a body that stalls longer than a connection may sit
/// idle is an idle connection.
pub const MAX_BODY_DEADLINE: Duration = Duration::from_secs(30);

/// The body deadline for an idle timeout: the smaller of the two.
pub fn body_deadline(idle_timeout: Duration) -> Duration {
    idle_timeout.min(MAX_BODY_DEADLINE)
}

/// The bytes of request bodies the emulator keeps at once while their signatures are still
/// unchecked: 8 × Bedrock's 25 MB limit = 200 MB. Memory held by such bodies is bounded by this
/// (8 bodies of the largest size, or any number of ordinary ones; a chunked body's buffer may
/// have spare capacity on top). A body that would take the total past it is refused with 503
/// before its bytes are kept (at once, before reading, when its length is declared). Bodies of
/// requests whose signature was checked before the body (declared payload hash) and the mantle
/// paths' (key checked first) are the key holder's and not counted.
pub const UNVERIFIED_BODY_BYTES: usize = 8 * BEDROCK_MAX_BODY_BYTES;

/// A refused request's body up to this many bytes has most likely arrived with its head; hyper
/// reads and drops it, and the connection is kept. A larger one, or one of unknown length, is
/// left unread and the answer closes the connection.
const SMALL_BODY_BYTES: usize = 4096;

impl Service {
    /// The SigV4 signing name.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Bedrock => "bedrock",
            Service::Sagemaker => "sagemaker",
        }
    }

    pub fn max_body_bytes(self) -> usize {
        match self {
            Service::Bedrock => BEDROCK_MAX_BODY_BYTES,
            Service::Sagemaker => SAGEMAKER_MAX_BODY_BYTES,
        }
    }
}

/// The body's length as its head declares it: `Content-Length`, 0 with neither that nor
/// `Transfer-Encoding`, `None` when only the end of a chunked body will tell.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<usize> {
    if headers.contains_key(TRANSFER_ENCODING) {
        return None;
    }
    match headers.get(CONTENT_LENGTH) {
        None => Some(0),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// Whether refusing a request before reading its body leaves bytes on the connection: then the
/// answer closes it.
pub(crate) fn leaves_unread(declared: Option<usize>) -> bool {
    declared.is_none_or(|n| n > SMALL_BODY_BYTES)
}

/// How the body read ended, when it did not end well.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// At least this many bytes (all of them if the client finished within the drain limit;
    /// the declared length when it was declared).
    TooLarge(usize),
    Broken,
    /// Not all there within the body deadline.
    TimedOut,
    /// The unverified-body budget has not the bytes free.
    Busy,
}

impl BodyError {
    /// Whether the connection must close after the answer: bytes of the body are left on it.
    pub(crate) fn closes(&self, declared: Option<usize>) -> bool {
        match self {
            BodyError::TooLarge(size) => *size > DRAIN_BYTES,
            BodyError::Broken | BodyError::TimedOut => true,
            BodyError::Busy => leaves_unread(declared),
        }
    }
}

/// The words of a body that missed its deadline, for every service's error shape.
pub(crate) fn late_body_message(deadline: Duration) -> String {
    format!(
        "The request body did not arrive within the {} s body deadline; the connection is \
         closed.",
        deadline.as_secs_f64()
    )
}

/// The bytes of the unverified-body budget one body holds; given back when dropped.
pub(crate) struct Held {
    budget: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Held {
    fn new(budget: &Arc<Semaphore>) -> Held {
        Held {
            budget: Arc::clone(budget),
            permit: None,
        }
    }

    fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits())
    }

    /// Holds `total` bytes in all, or refuses when the budget has not that many free now.
    fn hold(&mut self, total: usize) -> Result<(), BodyError> {
        let more = total.saturating_sub(self.bytes());
        if more == 0 {
            return Ok(());
        }
        let more = u32::try_from(more).map_err(|_| BodyError::Busy)?;
        let permit = Arc::clone(&self.budget)
            .try_acquire_many_owned(more)
            .map_err(|_| BodyError::Busy)?;
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        Ok(())
    }
}

/// Reads a body whose head declared `declared` bytes (`None`: chunked) within `limit` bytes
/// and `deadline`, its kept bytes held against `held` when given.
pub(crate) async fn read_body(
    body: Body,
    limit: usize,
    declared: Option<usize>,
    deadline: Duration,
    held: Option<&mut Held>,
) -> Result<Bytes, BodyError> {
    tokio::time::timeout(deadline, read_within(body, limit, declared, held))
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

async fn read_within(
    body: Body,
    limit: usize,
    declared: Option<usize>,
    mut held: Option<&mut Held>,
) -> Result<Bytes, BodyError> {
    if let Some(size) = declared.filter(|size| *size > DRAIN_BYTES) {
        // Too large to drain: refused unread.
        return Err(BodyError::TooLarge(size));
    }
    // A body declared over the limit is drained and counted, never kept.
    let over = declared.is_some_and(|size| size > limit);
    let expected = if over { 0 } else { declared.unwrap_or(0) };
    if let Some(held) = held.as_deref_mut() {
        held.hold(expected)?;
    }
    let mut kept = BytesMut::with_capacity(expected);
    let mut seen = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        seen = seen.saturating_add(chunk.len());
        if !over && seen <= limit {
            if let Some(held) = held.as_deref_mut() {
                held.hold(seen)?;
            }
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_BYTES {
            break;
        }
    }
    if over || seen > limit {
        return Err(BodyError::TooLarge(seen.max(declared.unwrap_or(0))));
    }
    Ok(kept.freeze())
}

/// The service's answer to a body over its limit: a ValidationException (ValidationError on
/// SageMaker) in the wording of AWS's length constraints.
pub fn too_large(service: Service, size: usize) -> AwsError {
    let limit = service.max_body_bytes();
    let member = match service {
        Service::Bedrock => "body",
        Service::Sagemaker => "Body",
    };
    AwsError::validation(
        service,
        format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: \
             Member must have length less than or equal to {limit} (the request carried \
             {size} bytes)"
        ),
    )
}

fn refused(service: Service, error: AuthError) -> AwsError {
    let message = error.to_string();
    match error {
        AuthError::Missing => match service {
            Service::Bedrock => AwsError::new(
                403,
                "AccessDeniedException",
                "Missing Authentication Token: requests must be signed with SigV4.",
            ),
            Service::Sagemaker => {
                AwsError::new(403, "MissingAuthenticationTokenException", message)
            }
        },
        AuthError::Incomplete(_) => AwsError::new(400, "IncompleteSignatureException", message),
        AuthError::UnknownAccessKey => AwsError::new(403, "UnrecognizedClientException", message),
        AuthError::WrongService(_)
        | AuthError::Expired { .. }
        | AuthError::NotYetCurrent { .. }
        | AuthError::Mismatch => AwsError::new(403, "InvalidSignatureException", message),
    }
}

/// Reads and authenticates the bedrock-runtime and SageMaker requests, and times every body.
pub(crate) struct Inbound {
    credentials: Credentials,
    /// Bytes of bodies kept while their signatures are unchecked (`UNVERIFIED_BODY_BYTES`).
    unverified: Arc<Semaphore>,
    unverified_bytes: usize,
    deadline: Duration,
}

impl Inbound {
    /// `unverified_bytes` is the unverified-body budget (capped at what a semaphore counts);
    /// `deadline` the body deadline.
    pub(crate) fn new(
        credentials: Credentials,
        unverified_bytes: usize,
        deadline: Duration,
    ) -> Inbound {
        let unverified_bytes = unverified_bytes.min(Semaphore::MAX_PERMITS);
        Inbound {
            credentials,
            unverified: Arc::new(Semaphore::new(unverified_bytes)),
            unverified_bytes,
            deadline,
        }
    }

    /// How long a body may take to arrive.
    pub(crate) fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Authenticates a request for `service` and reads its body: the body, once it is within
    /// the service's size limit and correctly signed.
    pub(crate) async fn receive(
        &self,
        service: Service,
        request: Request,
    ) -> Result<Bytes, AwsError> {
        let (parts, body) = request.into_parts();
        let head = SignedHead {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
        };
        let declared = declared_length(&parts.headers);
        // Refused on the head alone: nothing of the body is read.
        let early = |error: AuthError| refused(service, error).closing_if(leaves_unread(declared));
        let pending = sigv4::check_head(
            &head,
            &self.credentials,
            service.signing_name(),
            SystemTime::now(),
        )
        .map_err(early)?;
        let mut held = match pending.declared() {
            Some(payload) => {
                pending
                    .verify(&head, payload.hash(), &self.credentials)
                    .map_err(early)?;
                None
            }
            None => Some(Held::new(&self.unverified)),
        };
        let body = read_body(
            body,
            service.max_body_bytes(),
            declared,
            self.deadline,
            held.as_mut(),
        )
        .await
        .map_err(|error| self.body_refused(service, error, declared))?;
        let checked = match pending.declared() {
            Some(DeclaredPayload::Unsigned) => Ok(()),
            Some(DeclaredPayload::Sha256(hash)) => {
                if sigv4::payload_hash(&body) == *hash {
                    Ok(())
                } else {
                    Err(AuthError::Mismatch)
                }
            }
            None => pending.verify(&head, &sigv4::payload_hash(&body), &self.credentials),
        };
        // Checked (or refused): no longer the budget's.
        drop(held);
        checked.map_err(|error| refused(service, error))?;
        Ok(body)
    }

    fn body_refused(
        &self,
        service: Service,
        error: BodyError,
        declared: Option<usize>,
    ) -> AwsError {
        let close = error.closes(declared);
        let answer = match error {
            BodyError::TooLarge(size) => too_large(service, size),
            BodyError::Broken => AwsError::new(
                400,
                "SerializationException",
                "The request body could not be read to its end.",
            ),
            BodyError::TimedOut => AwsError::new(
                408,
                "RequestTimeoutException",
                late_body_message(self.deadline),
            ),
            BodyError::Busy => AwsError::busy(
                service,
                format!(
                    "The service is busy receiving other request bodies ({} bytes are held \
                     before their signatures can be checked); retry shortly.",
                    self.unverified_bytes
                ),
            ),
        };
        answer.closing_if(close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_deadline() -> Duration {
        Duration::from_secs(3600)
    }

    #[tokio::test]
    async fn bodies_within_the_limit_are_kept_and_larger_ones_measured() {
        let body = || Body::from(vec![b'x'; 10]);
        let read = |declared| read_body(body(), 10, declared, no_deadline(), None);
        assert_eq!(read(Some(10)).await.unwrap().len(), 10);
        assert_eq!(read(None).await.unwrap().len(), 10);
        let over = read_body(body(), 9, None, no_deadline(), None).await;
        assert_eq!(over, Err(BodyError::TooLarge(10)));
        let declared_over = read_body(body(), 9, Some(10), no_deadline(), None).await;
        assert_eq!(declared_over, Err(BodyError::TooLarge(10)));
        // Declared past what would be drained: refused unread, the connection closed.
        let huge = read_body(body(), 9, Some(DRAIN_BYTES + 1), no_deadline(), None).await;
        assert_eq!(huge, Err(BodyError::TooLarge(DRAIN_BYTES + 1)));
        assert!(BodyError::TooLarge(DRAIN_BYTES + 1).closes(Some(DRAIN_BYTES + 1)));
        assert!(!BodyError::TooLarge(10).closes(Some(10)));
        let error = too_large(Service::Bedrock, 30_000_000);
        assert_eq!(
            (error.status.as_u16(), error.code),
            (400, "ValidationException")
        );
        assert!(error.message.contains("less than or equal to 25000000"));
    }

    #[tokio::test]
    async fn kept_bytes_are_held_against_the_budget_and_given_back() {
        let budget = Arc::new(Semaphore::new(25));
        let mut first = Held::new(&budget);
        let body = Body::from(vec![b'x'; 20]);
        let kept = read_body(body, 100, Some(20), no_deadline(), Some(&mut first)).await;
        assert_eq!(kept.map(|b| b.len()), Ok(20));
        assert_eq!((first.bytes(), budget.available_permits()), (20, 5));
        // Declared: refused before a byte is read. Chunked: refused once past the budget.
        let mut second = Held::new(&budget);
        let declared = read_body(
            Body::from(vec![b'x'; 6]),
            100,
            Some(6),
            no_deadline(),
            Some(&mut second),
        );
        assert_eq!(declared.await, Err(BodyError::Busy));
        let chunked = read_body(
            Body::from(vec![b'x'; 6]),
            100,
            None,
            no_deadline(),
            Some(&mut second),
        );
        assert_eq!(chunked.await, Err(BodyError::Busy));
        assert_eq!(second.bytes(), 0);
        // A body declared over the limit is drained, holding nothing.
        let drained = read_body(
            Body::from(vec![b'x'; 200]),
            100,
            Some(200),
            no_deadline(),
            Some(&mut second),
        );
        assert_eq!(drained.await, Err(BodyError::TooLarge(200)));
        drop(first);
        assert_eq!(budget.available_permits(), 25);
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_in_time_is_cut_off() {
        // One byte, then nothing more, ever.
        let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"x"))]);
        let body = Body::from_stream(first.chain(futures_util::stream::pending()));
        let read = read_body(body, 100, Some(10), Duration::from_millis(50), None).await;
        assert_eq!(read, Err(BodyError::TimedOut));
        assert!(BodyError::TimedOut.closes(Some(10)));
        assert_eq!(body_deadline(Duration::from_secs(60)), MAX_BODY_DEADLINE);
        assert_eq!(
            body_deadline(Duration::from_millis(400)),
            Duration::from_millis(400)
        );
    }

    #[test]
    fn the_head_declares_the_length() {
        let mut headers = HeaderMap::new();
        assert_eq!(declared_length(&headers), Some(0));
        headers.insert(CONTENT_LENGTH, "20000000".parse().unwrap());
        assert_eq!(declared_length(&headers), Some(20_000_000));
        assert!(leaves_unread(Some(20_000_000)));
        assert!(!leaves_unread(Some(2)));
        headers.insert(TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert_eq!(declared_length(&headers), None);
        assert!(leaves_unread(None));
    }
}
