//! Uploaded files in an S3-compatible store, through the real S3 protocol: against the server
//! named by TONGBAN_TEST_S3_URL (the test command starts moto's S3 server), skipped without it.
//! An unreachable store is tested always: the upload fails and no record is left behind.

use std::sync::Arc;

use tongban_app::blobs::{S3Settings, s3_store};
use tongban_app::{DEMO_RESIDENT_PHONE, Principal};
use tongban_testkit::{Backend, TestApp};

const ITEM: &str = "1305340101001";
const MATERIAL: &str = "经营者居民身份证";

fn settings(endpoint: &str, bucket: &str) -> S3Settings {
    S3Settings {
        endpoint: endpoint.to_owned(),
        bucket: bucket.to_owned(),
        region: "cn-north-1".into(),
        access_key_id: "tongban-test".into(),
        secret_access_key: "tongban-test-secret".into(),
    }
}

async fn resident(t: &TestApp) -> Principal {
    t.principal_by_phone(DEMO_RESIDENT_PHONE).await
}

fn photo() -> Vec<u8> {
    let mut out = Vec::new();
    let picture = image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 40])
    });
    image::DynamicImage::ImageRgb8(picture)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// Creates a bucket the way an operator would before pointing Tongban at it.
async fn create_bucket(endpoint: &str, bucket: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut socket = tokio::net::TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    socket
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    socket
        .read_to_string(&mut answer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn files_go_to_the_s3_bucket_and_come_back_with_their_thumbnail() {
    let Ok(endpoint) = std::env::var("TONGBAN_TEST_S3_URL") else {
        eprintln!("skipped: set TONGBAN_TEST_S3_URL to an S3-compatible server");
        return;
    };
    let Some(t) = TestApp::demo_with_accounts(Backend::Sqlite).await else {
        return;
    };
    let bucket = format!("tongban-test-{}", std::process::id());
    create_bucket(&endpoint, &bucket).await;
    let blobs = s3_store(&settings(&endpoint, &bucket)).unwrap_or_else(|e| panic!("{e}"));
    let app = t.app.clone().with_blobs(Arc::clone(&blobs));
    let me = resident(&t).await;
    let id = app
        .start_application(&me, ITEM, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = photo();
    let record = app
        .upload_material(&me, &id, MATERIAL, "身份证.jpg", bytes.clone(), false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let (_, back) = app
        .material_file(&me, &id, &record.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, bytes, "the same bytes come back from the bucket");
    assert_eq!(
        app.with_thumbnails(std::slice::from_ref(&record)).await,
        vec![record.id.clone()]
    );
    let thumb = app
        .material_thumbnail(&me, &id, &record.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&thumb[..3], b"\xFF\xD8\xFF");

    // Stored by content: the object's key is its SHA-256.
    let listed: Vec<_> = {
        use futures_util::TryStreamExt;
        object_store::ObjectStore::list(&*blobs, None)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let keys: Vec<String> = listed.iter().map(|m| m.location.to_string()).collect();
    assert!(
        keys.contains(&format!("sha256/{}/{}", &record.sha256[..2], record.sha256)),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.starts_with("thumbs/")), "{keys:?}");
}

#[tokio::test]
async fn an_unreachable_store_refuses_the_upload_and_leaves_no_record() {
    let Some(t) = TestApp::demo_with_accounts(Backend::Sqlite).await else {
        return;
    };
    // Nothing listens on port 9 (discard) here.
    let blobs =
        s3_store(&settings("http://127.0.0.1:9", "tongban")).unwrap_or_else(|e| panic!("{e}"));
    let app = t.app.clone().with_blobs(blobs);
    let me = resident(&t).await;
    let id = app
        .start_application(&me, ITEM, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    assert!(
        app.upload_material(&me, &id, MATERIAL, "身份证.jpg", photo(), false)
            .await
            .is_err()
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "gives up in bounded time"
    );
    assert!(
        app.case_materials(&me, &id)
            .await
            .unwrap_or_default()
            .is_empty(),
        "no record without its file"
    );
}
