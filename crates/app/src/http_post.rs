//! Plain-HTTP POSTs to a service inside the government network (the SMS gateway, an
//! integration's webhook): HTTP/1.1, the answer read to its end. Connections are kept open
//! and reused, so a burst of notifications does not open a connection each.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How long an unused connection is kept for the next message.
const KEEP_IDLE: Duration = Duration::from_secs(30);

/// An `http://` endpoint to post to, with its open connections.
#[derive(Debug, Clone)]
pub struct Endpoint {
    uri: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Endpoint {
    /// `None` unless `url` is an `http://` URL with a host.
    pub fn parse(url: &str) -> Option<Self> {
        let uri: Uri = url.parse().ok()?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return None;
        }
        let mut connector = HttpConnector::new();
        // A message is one small write; waiting to fill a packet would only delay it.
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(KEEP_IDLE)
            .build(connector);
        Some(Self { uri, client })
    }

    /// Posts `body` with `headers`; returns the answer's status.
    pub async fn post(&self, headers: &[(&str, String)], body: Vec<u8>) -> Result<u16, String> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = self.client.request(request).await.map_err(|e| {
            match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            }
        })?;
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        Ok(status)
    }
}
