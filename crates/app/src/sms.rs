//! Text messages to residents' phones. Deployments plug in their operator's gateway; development
//! and demos use a sink that keeps messages in memory and in the log.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use tongban_domain::PhoneNumber;

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway URL `{0}` is not an http:// URL with a host")]
    BadUrl(String),
    #[error("cannot reach the SMS gateway: {0}")]
    Unreachable(String),
    #[error("the SMS gateway refused the message with status {0}")]
    Refused(u16),
}

/// Sends one text message.
pub trait SmsGateway: Send + Sync {
    fn send<'a>(&'a self, to: &'a PhoneNumber, text: &'a str) -> SendFuture<'a>;

    /// Sends a message that may be sent again after a crash between sending and recording it;
    /// `key` is the same on every attempt, so a gateway that honours it delivers it once.
    fn send_once<'a>(&'a self, to: &'a PhoneNumber, text: &'a str, key: &'a str) -> SendFuture<'a> {
        let _ = key;
        self.send(to, text)
    }

    /// The messages a development sink holds, newest first; `None` for a real gateway.
    fn outbox(&self) -> Option<Vec<SentSms>> {
        None
    }
}

/// A message as the development sink keeps it; the number is masked as everywhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub to_masked: String,
    pub text: String,
}

/// Keeps the last messages in memory and writes each to the log. Never for production: the
/// messages carry sign-in codes.
#[derive(Debug, Default)]
pub struct DevSink {
    sent: Mutex<VecDeque<SentSms>>,
}

const DEV_SINK_KEEPS: usize = 50;

impl SmsGateway for DevSink {
    fn send<'a>(&'a self, to: &'a PhoneNumber, text: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            tracing::info!(to = %to.masked(), text, "SMS (development sink)");
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            sent.push_front(SentSms {
                to_masked: to.masked(),
                text: text.to_owned(),
            });
            sent.truncate(DEV_SINK_KEEPS);
            Ok(())
        })
    }

    fn outbox(&self) -> Option<Vec<SentSms>> {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        Some(sent.iter().cloned().collect())
    }
}

/// Posts `{"phone": "...", "text": "..."}` as JSON to the operator's gateway with a bearer
/// token. Plain HTTP: the gateway is expected inside the government network, or behind a local
/// relay that holds the TLS connection to the operator.
#[derive(Debug, Clone)]
pub struct HttpGateway {
    endpoint: crate::http_post::Endpoint,
    token: String,
}

const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);

impl HttpGateway {
    pub fn new(url: &str, token: &str) -> Result<Self, SmsError> {
        let endpoint = crate::http_post::Endpoint::parse(url)
            .ok_or_else(|| SmsError::BadUrl(url.to_owned()))?;
        Ok(Self {
            endpoint,
            token: token.to_owned(),
        })
    }

    async fn post(&self, body: Vec<u8>, key: Option<&str>) -> Result<(), SmsError> {
        let mut headers = vec![
            (AUTHORIZATION.as_str(), format!("Bearer {}", self.token)),
            (CONTENT_TYPE.as_str(), "application/json".to_owned()),
        ];
        if let Some(key) = key {
            headers.push(("idempotency-key", key.to_owned()));
        }
        match self.endpoint.post(&headers, body).await {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(SmsError::Refused(status)),
            Err(e) => Err(SmsError::Unreachable(e)),
        }
    }
}

impl HttpGateway {
    async fn deliver(
        &self,
        to: &PhoneNumber,
        text: &str,
        key: Option<&str>,
    ) -> Result<(), SmsError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "phone": to.as_str(),
            "text": text,
        }))
        .map_err(|e| SmsError::Unreachable(e.to_string()))?;
        tokio::time::timeout(GATEWAY_TIMEOUT, self.post(body, key))
            .await
            .map_err(|_| SmsError::Unreachable("no answer within 10 s".into()))?
    }
}

/// Messages carry an `Idempotency-Key` header when they have one (notifications carry their
/// outbox id), as operators' gateways accept for deduplication.
impl SmsGateway for HttpGateway {
    fn send<'a>(&'a self, to: &'a PhoneNumber, text: &'a str) -> SendFuture<'a> {
        Box::pin(self.deliver(to, text, None))
    }

    fn send_once<'a>(&'a self, to: &'a PhoneNumber, text: &'a str, key: &'a str) -> SendFuture<'a> {
        Box::pin(self.deliver(to, text, Some(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_with_a_host_make_a_gateway() {
        assert!(HttpGateway::new("http://sms.local:8081/send", "t").is_ok());
        assert!(HttpGateway::new("https://sms.example/send", "t").is_err());
        assert!(HttpGateway::new("not a url", "t").is_err());
    }

    #[tokio::test]
    async fn the_http_gateway_posts_json_with_the_token() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            // Read until the JSON body has arrived.
            while !String::from_utf8_lossy(&got).contains("\"text\"") {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
            String::from_utf8_lossy(&got).into_owned()
        });
        let gateway = HttpGateway::new(&format!("http://{addr}/send"), "secret-token")
            .unwrap_or_else(|e| panic!("{e}"));
        let phone = PhoneNumber::parse("13800138000").unwrap_or_else(|e| panic!("{e}"));
        gateway
            .send_once(&phone, "验证码 123456", "o-key-1")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let request = server.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(request.starts_with("POST /send HTTP/1.1"), "{request}");
        assert!(
            request.contains("authorization: Bearer secret-token"),
            "{request}"
        );
        assert!(request.contains("\"phone\":\"13800138000\""), "{request}");
        assert!(request.contains("验证码 123456"), "{request}");
        assert!(request.contains("idempotency-key: o-key-1"), "{request}");
    }

    #[tokio::test]
    async fn the_dev_sink_keeps_masked_numbers_newest_first() {
        let sink = DevSink::default();
        let a = PhoneNumber::parse("13800138000").unwrap_or_else(|e| panic!("{e}"));
        sink.send(&a, "one").await.unwrap_or_else(|e| panic!("{e}"));
        sink.send(&a, "two").await.unwrap_or_else(|e| panic!("{e}"));
        let outbox = sink.outbox().unwrap_or_default();
        assert_eq!(outbox[0].text, "two");
        assert_eq!(outbox[0].to_masked, "138****8000");
    }
}
