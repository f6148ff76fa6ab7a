//! Where uploaded files' bytes live: a local folder by default, or an S3-compatible object
//! store (MinIO, Ceph RGW, a government cloud's object storage) by configuration. The S3 client
//! is object_store's, given our own HTTP client (hyper, plain HTTP to an endpoint inside the
//! network) and our own SHA-256/HMAC, so no second TLS and crypto stack is built in.

use std::sync::Arc;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as PlainConnector;
use hyper_util::rt::TokioExecutor;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::client::{
    CryptoProvider, DigestAlgorithm, DigestContext, HmacContext, HttpClient, HttpConnector,
    HttpError, HttpErrorKind, HttpRequest, HttpRequestBody, HttpResponse, HttpResponseBody,
    HttpService, Signer, SigningAlgorithm,
};
use sha2::Digest;

/// An S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `http://host:port` of the service.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The bucket as an object store; checks the settings, does not connect.
pub fn s3_store(s: &S3Settings) -> Result<Arc<dyn ObjectStore>, String> {
    if !s.endpoint.starts_with("http://") {
        return Err(format!(
            "s3_endpoint `{}` must be an http:// URL inside the network",
            s.endpoint
        ));
    }
    if s.bucket.is_empty() || s.access_key_id.is_empty() || s.secret_access_key.is_empty() {
        return Err("s3_bucket, s3_access_key_id and s3_secret_access_key are all needed".into());
    }
    let store = AmazonS3Builder::new()
        .with_endpoint(&s.endpoint)
        .with_bucket_name(&s.bucket)
        .with_region(if s.region.is_empty() {
            "us-east-1"
        } else {
            &s.region
        })
        .with_access_key_id(&s.access_key_id)
        .with_secret_access_key(&s.secret_access_key)
        .with_allow_http(true)
        // Path-style (`endpoint/bucket/key`): what self-hosted stores answer to.
        .with_virtual_hosted_style_request(false)
        // A resident waits on the upload: give up within seconds, not minutes.
        .with_retry(object_store::RetryConfig {
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(10),
            ..object_store::RetryConfig::default()
        })
        .with_http_connector(PlainHttp)
        .with_crypto_provider(Arc::new(RustCrypto))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(store))
}

#[derive(Debug)]
struct PlainHttp;

impl HttpConnector for PlainHttp {
    fn connect(&self, _options: &object_store::ClientOptions) -> object_store::Result<HttpClient> {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(HttpClient::new(Hyper(client)))
    }
}

#[derive(Debug)]
struct Hyper(Client<PlainConnector, HttpRequestBody>);

#[async_trait::async_trait]
impl HttpService for Hyper {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self.0.request(req).await.map_err(|e| {
            let kind = if e.is_connect() {
                HttpErrorKind::Connect
            } else {
                HttpErrorKind::Request
            };
            HttpError::new(kind, e)
        })?;
        let (parts, body) = response.into_parts();
        // Files are at most a few megabytes: read the answer whole.
        let bytes = body
            .collect()
            .await
            .map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e))?
            .to_bytes();
        Ok(HttpResponse::from_parts(
            parts,
            HttpResponseBody::from(bytes),
        ))
    }
}

/// SHA-256 and HMAC-SHA256 (all S3's request signing needs) from the crates already used for
/// hashing elsewhere.
#[derive(Debug)]
struct RustCrypto;

struct Sha256Context {
    hasher: sha2::Sha256,
    out: Vec<u8>,
}

impl DigestContext for Sha256Context {
    fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        self.out = self.hasher.finalize_reset().to_vec();
        Ok(&self.out)
    }
}

struct HmacSha256Context {
    mac: hmac::Hmac<sha2::Sha256>,
    out: Vec<u8>,
}

impl HmacContext for HmacSha256Context {
    fn update(&mut self, data: &[u8]) {
        hmac::Mac::update(&mut self.mac, data);
    }

    fn finish(&mut self) -> object_store::Result<&[u8]> {
        self.out = hmac::Mac::finalize(self.mac.clone()).into_bytes().to_vec();
        Ok(&self.out)
    }
}

impl CryptoProvider for RustCrypto {
    fn digest(&self, algorithm: DigestAlgorithm) -> object_store::Result<Box<dyn DigestContext>> {
        match algorithm {
            DigestAlgorithm::Sha256 => Ok(Box::new(Sha256Context {
                hasher: sha2::Sha256::new(),
                out: Vec::new(),
            })),
            _ => Err(not_implemented("digest")),
        }
    }

    fn hmac(
        &self,
        algorithm: DigestAlgorithm,
        secret: &[u8],
    ) -> object_store::Result<Box<dyn HmacContext>> {
        match algorithm {
            DigestAlgorithm::Sha256 => {
                let mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret)
                    .map_err(|_| not_implemented("hmac"))?;
                Ok(Box::new(HmacSha256Context {
                    mac,
                    out: Vec::new(),
                }))
            }
            _ => Err(not_implemented("hmac")),
        }
    }

    fn sign(
        &self,
        _algorithm: SigningAlgorithm,
        _pem: &[u8],
    ) -> object_store::Result<Box<dyn Signer>> {
        // RSA signing is for Google Cloud service accounts, never used with S3.
        Err(not_implemented("sign"))
    }
}

fn not_implemented(operation: &str) -> object_store::Error {
    object_store::Error::NotImplemented {
        operation: operation.to_owned(),
        implementer: "tongban blobs".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_and_digest_match_the_published_vectors() {
        let mut mac = RustCrypto
            .hmac(DigestAlgorithm::Sha256, b"Jefe")
            .unwrap_or_else(|e| panic!("{e}"));
        mac.update(b"what do ya want ");
        mac.update(b"for nothing?");
        assert_eq!(
            hex::encode(mac.finish().unwrap_or_default()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut digest = RustCrypto
            .digest(DigestAlgorithm::Sha256)
            .unwrap_or_else(|e| panic!("{e}"));
        digest.update(b"abc");
        assert_eq!(
            hex::encode(digest.finish().unwrap_or_default()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn only_complete_http_settings_make_a_store() {
        let good = S3Settings {
            endpoint: "http://minio.local:9000".into(),
            bucket: "tongban".into(),
            region: String::new(),
            access_key_id: "key".into(),
            secret_access_key: "secret".into(),
        };
        assert!(s3_store(&good).is_ok());
        assert!(
            s3_store(&S3Settings {
                endpoint: "ftp://x".into(),
                ..good.clone()
            })
            .is_err()
        );
        assert!(
            s3_store(&S3Settings {
                bucket: String::new(),
                ..good
            })
            .is_err()
        );
    }
}
