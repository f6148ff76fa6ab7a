//! Stored files as the browser receives them: what people uploaded goes out as an attachment
//! under its own name and is never cached; the previews we re-encode ourselves are shown inline.

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What RFC 5987 lets through unencoded, less what some browsers mishandle.
const NAME_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');

/// An uploaded file to save, under the name it was uploaded with. The bytes were judged by
/// their content on upload, but they are still someone's upload: never rendered inline.
pub(crate) fn attachment(media_type: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (CONTENT_TYPE, media_type.to_owned()),
            (CONTENT_DISPOSITION, disposition(file_name)),
            (CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// A small JPEG we made from an uploaded picture: safe inline, and the same for a day.
pub(crate) fn preview(bytes: Vec<u8>) -> Response {
    (
        [
            (CONTENT_TYPE, "image/jpeg"),
            (CACHE_CONTROL, "private, max-age=86400"),
        ],
        bytes,
    )
        .into_response()
}

/// `attachment` with the name twice (RFC 6266): in ASCII for clients that know no better, and
/// in UTF-8 for the rest, since most names here are Chinese.
fn disposition(file_name: &str) -> String {
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_fallback(file_name),
        utf8_percent_encode(file_name, NAME_KEEP)
    )
}

/// The file name with only ASCII letters, digits, `-` and `_` kept in its stem and extension.
fn ascii_fallback(name: &str) -> String {
    let keep = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect()
    };
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let (stem, ext) = (keep(stem), keep(ext));
    let stem = if stem.is_empty() {
        "file".to_owned()
    } else {
        stem
    };
    if ext.is_empty() {
        stem
    } else {
        format!("{stem}.{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_name_goes_out_in_utf8_with_an_ascii_stand_in() {
        assert_eq!(
            disposition("身份证 正面.jpg"),
            "attachment; filename=\"file.jpg\"; \
             filename*=UTF-8''%E8%BA%AB%E4%BB%BD%E8%AF%81%20%E6%AD%A3%E9%9D%A2.jpg"
        );
    }

    #[test]
    fn quotes_and_separators_in_a_name_cannot_break_the_header() {
        let d = disposition("a\";b=.\"x;y");
        assert_eq!(
            d,
            "attachment; filename=\"ab.xy\"; filename*=UTF-8''a%22%3Bb%3D.%22x%3By"
        );
    }

    #[test]
    fn a_plain_name_keeps_its_letters_and_extension() {
        assert_eq!(ascii_fallback("scan-2026_01.pdf"), "scan-2026_01.pdf");
        assert_eq!(ascii_fallback("身份证.jpg"), "file.jpg");
        assert_eq!(ascii_fallback("id-card_2.pdf"), "id-card_2.pdf");
        assert_eq!(
            utf8_percent_encode("证.pdf", NAME_KEEP).to_string(),
            "%E8%AF%81.pdf"
        );
        assert_eq!(ascii_fallback("README"), "README");
        assert_eq!(ascii_fallback("照片"), "file");
    }
}
