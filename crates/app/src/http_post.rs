//! One plain-HTTP POST to a service inside the government network (the SMS gateway, an
//! integration's webhook): HTTP/1.1 over a fresh connection, the answer read to its end.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HOST;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;

/// Checks that `url` is an `http://` URL with a host; returns it parsed, with its authority.
pub fn parse_http_url(url: &str) -> Option<(Uri, String)> {
    let uri: Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let authority = uri.authority()?.as_str().to_owned();
    Some((uri, authority))
}

/// Posts `body` with `headers`; returns the answer's status, or why there was none.
pub async fn post(
    uri: &Uri,
    authority: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<u16, String> {
    let host_port = if uri.port().is_some() {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let stream = tokio::net::TcpStream::connect(host_port)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(HOST, authority);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    // Read the answer to the end so the other side sees a clean exchange.
    let _ = response.into_body().collect().await;
    Ok(status)
}
