//! Who may call the mantle paths: a Bedrock API key as `Authorization: Bearer KEY` (what the
//! OpenAI SDKs send), or as Anthropic's `x-api-key: KEY` header. SigV4-signed requests are not
//! checked here; they are refused with a pointer to the API key.

use axum::http::HeaderMap;

use super::error::{Dialect, Kind, MantleError};

/// Why a request's key is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    Missing,
    Wrong,
    Sigv4,
}

/// The key a request carries: `x-api-key` first, then a bearer token.
pub fn check(headers: &HeaderMap, key: &str) -> Result<(), KeyError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let given = match (header("x-api-key"), header("authorization")) {
        (Some(given), _) => given,
        (None, Some(authorization)) => {
            if authorization.starts_with("AWS4-HMAC-SHA256") {
                return Err(KeyError::Sigv4);
            }
            let (scheme, token) = authorization.split_once(' ').ok_or(KeyError::Missing)?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(KeyError::Missing);
            }
            token.trim()
        }
        (None, None) => return Err(KeyError::Missing),
    };
    if given == key {
        Ok(())
    } else {
        Err(KeyError::Wrong)
    }
}

/// The refusal in the dialect's words (401 on both APIs).
pub fn refusal(dialect: Dialect, error: KeyError) -> MantleError {
    let message = match (dialect, error) {
        (Dialect::OpenAi, KeyError::Missing) => {
            "You didn't provide an API key. You need to provide your API key in an \
             Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        }
        (Dialect::Anthropic, KeyError::Missing) => "x-api-key header is required",
        (Dialect::OpenAi, KeyError::Wrong) => "Incorrect API key provided.",
        (Dialect::Anthropic, KeyError::Wrong) => "invalid x-api-key",
        (_, KeyError::Sigv4) => {
            "The emulator's mantle paths take a Bedrock API key (Authorization: Bearer KEY or \
             x-api-key: KEY), not a SigV4 signature."
        }
    };
    MantleError::new(dialect, Kind::Authentication, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn bearer_or_x_api_key() {
        assert_eq!(
            check(&headers(&[("authorization", "Bearer k")]), "k"),
            Ok(())
        );
        assert_eq!(
            check(&headers(&[("authorization", "bearer k")]), "k"),
            Ok(())
        );
        assert_eq!(check(&headers(&[("x-api-key", "k")]), "k"), Ok(()));
        assert_eq!(
            check(&headers(&[("x-api-key", "no")]), "k"),
            Err(KeyError::Wrong)
        );
        assert_eq!(
            check(&headers(&[("authorization", "Bearer no")]), "k"),
            Err(KeyError::Wrong)
        );
        assert_eq!(check(&headers(&[]), "k"), Err(KeyError::Missing));
        assert_eq!(
            check(&headers(&[("authorization", "Basic k")]), "k"),
            Err(KeyError::Missing)
        );
        assert_eq!(
            check(
                &headers(&[("authorization", "AWS4-HMAC-SHA256 Credential=x")]),
                "k"
            ),
            Err(KeyError::Sigv4)
        );
    }
}
