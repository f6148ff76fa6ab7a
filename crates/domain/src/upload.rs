//! What may be uploaded as a material or a scan: PDF, JPEG, PNG and OFD (the national
//! fixed-layout format of e-documents), judged by the bytes, never by the name alone. Web
//! pages, SVG, scripts, executables and archives are refused, and so is a file whose name
//! claims another type than its bytes (a renamed executable, a PDF called `.jpg`).

/// Largest single file, in bytes.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Largest total of a case's current materials, in bytes.
pub const MAX_CASE_BYTES: usize = 50 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
    Ofd,
}

impl FileKind {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Ofd => "application/ofd",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Ofd => "ofd",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png)
    }

    fn claims(ext: &str) -> Option<Self> {
        match ext {
            "pdf" => Some(Self::Pdf),
            "jpg" | "jpeg" | "jpe" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "ofd" => Some(Self::Ofd),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("only PDF, JPEG, PNG and OFD files are accepted")]
    Unsupported,
    #[error("the file's name says .{claimed} but its content is {actual}")]
    Mismatch {
        claimed: String,
        actual: &'static str,
    },
}

impl UploadError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "upload_empty",
            Self::TooLarge { .. } => "upload_too_large",
            Self::Unsupported => "upload_type",
            Self::Mismatch { .. } => "upload_mismatch",
        }
    }
}

/// The kind of a file by its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileKind::Png)
    } else if bytes.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else if bytes.starts_with(b"PK\x03\x04") && is_ofd_package(bytes) {
        Some(FileKind::Ofd)
    } else {
        None
    }
}

/// An OFD file is a ZIP package whose entry point is `OFD.xml` at its root (GB/T 33190); any
/// other ZIP is an archive and refused. The first local file header names the first entry.
fn is_ofd_package(bytes: &[u8]) -> bool {
    const NAME_LEN_AT: usize = 26;
    const NAME_AT: usize = 30;
    let Some(len) = bytes
        .get(NAME_LEN_AT..NAME_LEN_AT + 2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    else {
        return false;
    };
    bytes
        .get(NAME_AT..NAME_AT + len)
        .is_some_and(|name| name.eq_ignore_ascii_case(b"OFD.xml"))
}

/// Checks an upload: not empty, not too large, of an accepted kind, and named as what it is
/// (a name without an extension is fine).
pub fn check_upload(file_name: &str, bytes: &[u8]) -> Result<FileKind, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(UploadError::TooLarge {
            max: MAX_FILE_BYTES,
        });
    }
    let kind = sniff(bytes).ok_or(UploadError::Unsupported)?;
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !ext.is_empty() && FileKind::claims(&ext) != Some(kind) {
        return Err(UploadError::Mismatch {
            claimed: ext,
            actual: kind.media_type(),
        });
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_with_first_entry(name: &str) -> Vec<u8> {
        let mut b = b"PK\x03\x04".to_vec();
        b.extend_from_slice(&[0u8; 22]);
        b.extend_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(b"<ofd:OFD/>");
        b
    }

    #[test]
    fn the_four_accepted_kinds_are_known_by_their_bytes() {
        assert_eq!(
            check_upload("scan.jpg", b"\xFF\xD8\xFF\xE0rest"),
            Ok(FileKind::Jpeg)
        );
        assert_eq!(
            check_upload("SCAN.JPEG", b"\xFF\xD8\xFF\xE0rest"),
            Ok(FileKind::Jpeg)
        );
        assert_eq!(
            check_upload("a.png", b"\x89PNG\r\n\x1a\nrest"),
            Ok(FileKind::Png)
        );
        assert_eq!(
            check_upload("licence.pdf", b"%PDF-1.7 rest"),
            Ok(FileKind::Pdf)
        );
        assert_eq!(
            check_upload("证照.ofd", &zip_with_first_entry("OFD.xml")),
            Ok(FileKind::Ofd)
        );
        assert_eq!(check_upload("no-extension", b"%PDF-1.4"), Ok(FileKind::Pdf));
    }

    #[test]
    fn pages_scripts_executables_and_archives_are_refused() {
        for (name, bytes) in [
            ("page.html", b"<!DOCTYPE html><script>".as_slice()),
            ("logo.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\">"),
            ("run.sh", b"#!/bin/sh\nrm -rf /"),
            ("setup.exe", b"MZ\x90\x00\x03"),
            ("files.zip", &zip_with_first_entry("secret.txt")),
        ] {
            assert_eq!(
                check_upload(name, bytes),
                Err(UploadError::Unsupported),
                "{name}"
            );
        }
    }

    #[test]
    fn a_renamed_file_is_refused_for_the_mismatch() {
        assert_eq!(
            check_upload("photo.jpg", b"%PDF-1.7"),
            Err(UploadError::Mismatch {
                claimed: "jpg".into(),
                actual: "application/pdf"
            })
        );
        assert_eq!(
            check_upload("invoice.pdf", b"MZ\x90\x00"),
            Err(UploadError::Unsupported)
        );
    }

    #[test]
    fn empty_and_oversized_files_are_refused() {
        assert_eq!(check_upload("a.pdf", b""), Err(UploadError::Empty));
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_FILE_BYTES + 1, b' ');
        assert_eq!(
            check_upload("a.pdf", &big),
            Err(UploadError::TooLarge {
                max: MAX_FILE_BYTES
            })
        );
    }
}
