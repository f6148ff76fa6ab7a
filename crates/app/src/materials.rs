//! Materials uploaded for a case: checked by their bytes, stored once by their SHA-256 in the
//! object store, recorded against the case in the database, and served back only to people
//! who may see the case.
//!
//! The bytes are written before the record: a failure in between leaves an unreferenced
//! object (harmless, and the same file uploaded again reuses it), never a record without its
//! file. Images get a small JPEG thumbnail beside them, re-encoded by us, so pages can show a
//! preview that is cheap on a weak connection and safe to display inline.

use object_store::ObjectStoreExt;
use object_store::path::Path as BlobPath;
use sha2::{Digest, Sha256};
use tongban_domain::upload::{FileKind, MAX_CASE_BYTES, check_upload};
use tongban_store::MaterialRecord;

use crate::identity::Principal;
use crate::vault::random_bytes;
use crate::{AppError, Refusal, RefusalKind};

/// Where a file's bytes live: by content, so one file stored twice is stored once.
pub(crate) fn blob_path(sha256: &str) -> BlobPath {
    BlobPath::from(format!("sha256/{}/{}", &sha256[..2], sha256))
}

/// Thumbnails are at most this many pixels on their longer side: enough to recognise a scan on
/// a phone, a few kilobytes over a weak rural connection.
pub const THUMB_EDGE: u32 = 240;
/// Decoding stops beyond these: a small file may claim an enormous picture.
const DECODE_MAX_EDGE: u32 = 12_000;
const DECODE_MAX_BYTES: u64 = 256 * 1024 * 1024;

pub(crate) fn thumb_path(sha256: &str) -> BlobPath {
    BlobPath::from(format!("thumbs/{}/{}.jpg", &sha256[..2], sha256))
}

/// A small JPEG of an image, or `None` when the bytes do not decode as a picture within the
/// limits (a scan that is only a header, say): the file is still kept, just not previewed.
pub fn make_thumbnail(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(DECODE_MAX_EDGE);
    limits.max_image_height = Some(DECODE_MAX_EDGE);
    limits.max_alloc = Some(DECODE_MAX_BYTES);
    reader.limits(limits);
    let picture = reader.decode().ok()?;
    let small = picture.thumbnail(THUMB_EDGE, THUMB_EDGE).into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
        .encode_image(&small)
        .ok()?;
    Some(out)
}

/// The name a file is kept under: cleaned, with the extension of its real type when it has
/// none.
pub(crate) fn stored_file_name(given: &str, kind: FileKind) -> String {
    let name = clean_file_name(given);
    if name.contains('.') {
        name
    } else {
        format!("{name}.{}", kind.extension())
    }
}

/// A file name as shown and offered for download: no folders, no control characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | ':' | '*' | '?'))
        .take(120)
        .collect();
    if cleaned.trim().is_empty() {
        "file".into()
    } else {
        cleaned.trim().to_owned()
    }
}

impl crate::App {
    /// Adds a file to one of the case's materials (`replace`: instead of the files it had).
    /// Only the applicant's side, while the case is a draft or waits for a supplement.
    pub async fn upload_material(
        &self,
        p: &Principal,
        case_id: &str,
        material: &str,
        file_name: &str,
        bytes: Vec<u8>,
        replace: bool,
    ) -> Result<MaterialRecord, AppError> {
        let (c, item, _) = self.visible_case(&p.actor, case_id).await?;
        let open = c.stage == "draft" || c.stage == "supplement";
        let applicant_side = c.filed_by == p.user_id() || p.actor.may_act_for(&c.applicant_id);
        if !applicant_side {
            return Err(AppError::forbidden());
        }
        if !open {
            return Err(Refusal::new(RefusalKind::Conflict, "case_materials_closed").into());
        }
        if !item.materials.iter().any(|m| m.name == material) {
            return Err(AppError::rejected("material_unknown", "material"));
        }
        let kind = check_upload(file_name, &bytes).map_err(|e| {
            let mut r = Refusal::new(RefusalKind::Invalid, e.code()).on("file");
            if let tongban_domain::upload::UploadError::TooLarge { max } = e {
                r = r.with("mb", max / 1024 / 1024);
            }
            AppError::from(r)
        })?;
        let current = self.store.materials_of_case(&self.tenant, &c.id).await?;
        let kept: i64 = current
            .iter()
            .filter(|m| m.superseded_at.is_none() && !(replace && m.material == material))
            .map(|m| m.size)
            .sum();
        if kept as usize + bytes.len() > MAX_CASE_BYTES {
            return Err(Refusal::new(RefusalKind::Invalid, "upload_case_full")
                .on("file")
                .with("mb", MAX_CASE_BYTES / 1024 / 1024)
                .into());
        }
        let size = bytes.len() as i64;
        let sha256 = self.put_content(bytes, kind).await?;
        let now = self.now_ms();
        let record = MaterialRecord {
            id: format!("f{}", hex::encode(random_bytes::<12>())),
            case_id: c.id.clone(),
            material: material.to_owned(),
            file_name: stored_file_name(file_name, kind),
            media_type: kind.media_type().to_owned(),
            size,
            sha256,
            uploaded_by: p.user_id().to_owned(),
            uploaded_at: now,
            superseded_at: None,
        };
        let mut tx = self.store.begin().await?;
        if replace {
            self.store
                .supersede_materials(&mut tx, &self.tenant, &c.id, material, now)
                .await?;
        }
        self.store
            .insert_material(&mut tx, &self.tenant, &record)
            .await?;
        let entry = self.audit_entry(
            &p.actor,
            "case.upload",
            &format!("case:{}", c.id),
            &format!("{material}: {} ({} bytes)", record.file_name, record.size),
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The case's current files, for everyone who may see the case.
    pub async fn case_materials(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<Vec<MaterialRecord>, AppError> {
        let (c, _, _) = self.visible_case(&p.actor, case_id).await?;
        let mut files = self.store.materials_of_case(&self.tenant, &c.id).await?;
        files.retain(|m| m.superseded_at.is_none());
        Ok(files)
    }

    /// One file of a case with its bytes, for someone who may see the case.
    pub async fn material_file(
        &self,
        p: &Principal,
        case_id: &str,
        file_id: &str,
    ) -> Result<(MaterialRecord, Vec<u8>), AppError> {
        let (c, _, _) = self.visible_case(&p.actor, case_id).await?;
        let record = self
            .store
            .materials_of_case(&self.tenant, &c.id)
            .await?
            .into_iter()
            .find(|m| m.id == file_id)
            .ok_or_else(|| AppError::hidden("file_not_found"))?;
        let bytes = self
            .blobs
            .get(&blob_path(&record.sha256))
            .await
            .map_err(|e| AppError::Internal(format!("reading file {file_id}: {e}")))?
            .bytes()
            .await
            .map_err(|e| AppError::Internal(format!("reading file {file_id}: {e}")))?;
        Ok((record, bytes.to_vec()))
    }

    /// The thumbnail of an image of a case, for someone who may see the case.
    pub async fn material_thumbnail(
        &self,
        p: &Principal,
        case_id: &str,
        file_id: &str,
    ) -> Result<Vec<u8>, AppError> {
        let (c, _, _) = self.visible_case(&p.actor, case_id).await?;
        let record = self
            .store
            .materials_of_case(&self.tenant, &c.id)
            .await?
            .into_iter()
            .find(|m| m.id == file_id)
            .ok_or_else(|| AppError::hidden("file_not_found"))?;
        self.read_blob(&thumb_path(&record.sha256)).await
    }

    /// Which of `files` have a thumbnail (the images that decoded).
    pub async fn with_thumbnails(&self, files: &[MaterialRecord]) -> Vec<String> {
        let mut out = Vec::new();
        for f in files.iter().filter(|f| f.media_type.starts_with("image/")) {
            if self.blobs.head(&thumb_path(&f.sha256)).await.is_ok() {
                out.push(f.id.clone());
            }
        }
        out
    }

    /// Stores `bytes` by their SHA-256, with a thumbnail beside an image; returns the hash.
    /// The bytes go first and their record after, by the caller: a failure in between leaves
    /// an unreferenced object, never a record without its file.
    pub(crate) async fn put_content(
        &self,
        bytes: Vec<u8>,
        kind: FileKind,
    ) -> Result<String, AppError> {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let bytes = hyper::body::Bytes::from(bytes);
        if matches!(kind, FileKind::Jpeg | FileKind::Png) {
            let source = bytes.clone();
            let thumb = tokio::task::spawn_blocking(move || make_thumbnail(&source))
                .await
                .ok()
                .flatten();
            if let Some(thumb) = thumb {
                self.blobs
                    .put(&thumb_path(&sha256), thumb.into())
                    .await
                    .map_err(|e| AppError::Internal(format!("storing a thumbnail: {e}")))?;
            }
        }
        self.blobs
            .put(&blob_path(&sha256), bytes.into())
            .await
            .map_err(|e| AppError::Internal(format!("storing a file: {e}")))?;
        Ok(sha256)
    }

    /// Stored bytes; a missing object is "not found" (an image that had no thumbnail).
    pub(crate) async fn read_blob(&self, path: &BlobPath) -> Result<Vec<u8>, AppError> {
        match self.blobs.get(path).await {
            Ok(found) => Ok(found
                .bytes()
                .await
                .map_err(|e| AppError::Internal(format!("reading {path}: {e}")))?
                .to_vec()),
            Err(object_store::Error::NotFound { .. }) => Err(AppError::hidden("file_not_found")),
            Err(e) => Err(AppError::Internal(format!("reading {path}: {e}"))),
        }
    }

    /// Required materials of the case's item that have no current file.
    pub(crate) async fn missing_materials(
        &self,
        case_id: &str,
        item: &tongban_domain::ServiceItem,
    ) -> Result<Vec<String>, AppError> {
        let files = self.store.materials_of_case(&self.tenant, case_id).await?;
        Ok(item
            .materials
            .iter()
            .filter(|m| m.required)
            .filter(|m| {
                !files
                    .iter()
                    .any(|f| f.superseded_at.is_none() && f.material == m.name)
            })
            .map(|m| m.name.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_get_a_small_jpeg_thumbnail_and_other_bytes_none() {
        let mut png = Vec::new();
        let picture = image::RgbImage::from_pixel(1200, 600, image::Rgb([200, 30, 30]));
        image::DynamicImage::ImageRgb8(picture)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{e}"));
        let thumb = make_thumbnail(&png).unwrap_or_default();
        assert_eq!(&thumb[..3], b"\xFF\xD8\xFF", "a JPEG");
        let decoded = image::load_from_memory(&thumb).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (decoded.width(), decoded.height()),
            (THUMB_EDGE, THUMB_EDGE / 2)
        );
        assert_eq!(make_thumbnail(b"\xFF\xD8\xFF\xE0 only a header"), None);
    }

    #[test]
    fn file_names_lose_folders_and_characters_that_break_headers() {
        assert_eq!(clean_file_name("C:\\Users\\李明\\身份证.jpg"), "身份证.jpg");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\"b\r\n.pdf"), "ab.pdf");
        assert_eq!(clean_file_name("   "), "file");
    }

    #[test]
    fn blobs_are_stored_under_their_hash() {
        let h = hex::encode(Sha256::digest(b"x"));
        assert_eq!(blob_path(&h).to_string(), format!("sha256/{}/{h}", &h[..2]));
    }
}
