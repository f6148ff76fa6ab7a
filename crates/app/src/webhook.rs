//! Webhooks: every change to a case is posted to the county's integration endpoint (its data
//! exchange platform, or a department's own system), through the outbox like every other
//! notification. Each delivery is signed with HMAC-SHA256 over the exact body, carries the
//! outbox row's id as its idempotency key, and is retried with growing waits until answered.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The shortest shared secret accepted: a signature is only as strong as its key.
pub const MIN_SECRET_CHARS: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the webhook URL `{0}` is not an http:// URL with a host")]
    BadUrl(String),
    #[error("the webhook secret must have at least {MIN_SECRET_CHARS} characters")]
    WeakSecret,
}

/// An integration endpoint with its shared secret.
#[derive(Debug, Clone)]
pub struct Webhook {
    endpoint: crate::http_post::Endpoint,
    secret: String,
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`: what `X-Tongban-Signature`
/// carries, for the receiver to recompute.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length: never reached.
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhook {
    pub fn new(url: &str, secret: &str) -> Result<Self, WebhookError> {
        let endpoint = crate::http_post::Endpoint::parse(url)
            .ok_or_else(|| WebhookError::BadUrl(url.to_owned()))?;
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(WebhookError::WeakSecret);
        }
        Ok(Self {
            endpoint,
            secret: secret.to_owned(),
        })
    }

    /// Posts one event; `Err` says why it was not accepted (for the retry record).
    pub async fn deliver(&self, id: &str, event: &str, body: Vec<u8>) -> Result<(), String> {
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("idempotency-key", id.to_owned()),
            ("x-tongban-event", event.to_owned()),
            ("x-tongban-signature", signature(&self.secret, &body)),
        ];
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.endpoint.post(&headers, body),
        )
        .await
        .map_err(|_| "no answer within 10 s".to_owned())?;
        match answer {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(format!("the webhook answered {status}")),
            Err(e) => Err(format!("cannot reach the webhook: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_http_urls_and_long_secrets_make_a_webhook() {
        assert!(Webhook::new("http://exchange.local/hooks/tongban", "0123456789abcdef").is_ok());
        assert_eq!(
            Webhook::new("ftp://x", "0123456789abcdef").err(),
            Some(WebhookError::BadUrl("ftp://x".into()))
        );
        assert_eq!(
            Webhook::new("http://exchange.local/", "short").err(),
            Some(WebhookError::WeakSecret)
        );
    }
}
