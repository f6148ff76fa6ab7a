//! Reading a multipart form of text fields and at most one file, the shape of every upload
//! form (materials, consent scans, photos). The route's body limit is what stops a large
//! file, so a failed read is reported as "too large".

use std::collections::HashMap;

use axum::extract::Multipart;

/// A multipart form once read.
#[derive(Debug, Default)]
pub struct UploadForm {
    text: HashMap<String, String>,
    /// The file's name as the browser gave it, and its bytes.
    pub file_name: String,
    pub file: Vec<u8>,
}

impl UploadForm {
    /// A text field's value, empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.text.get(name).map_or("", String::as_str)
    }
}

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFormError {
    /// A part could not be read to its end: the body limit was reached.
    TooLarge,
    /// The body is not a multipart form.
    Unreadable,
}

/// Reads every part; the part named `file_field` is the file, all others are text.
pub async fn read_upload_form(
    mut multipart: Multipart,
    file_field: &str,
) -> Result<UploadForm, UploadFormError> {
    let mut form = UploadForm::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(form),
            Err(_) => return Err(UploadFormError::Unreadable),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let given_name = field.file_name().unwrap_or_default().to_owned();
        let data = field.bytes().await.map_err(|_| UploadFormError::TooLarge)?;
        if name == file_field {
            form.file_name = given_name;
            form.file = data.to_vec();
        } else {
            form.text
                .insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
}

/// The refusal for a form that could not be read, on the form's file field.
pub fn refusal(e: UploadFormError, field: &'static str) -> tongban_app::AppError {
    match e {
        UploadFormError::TooLarge => {
            tongban_app::Refusal::new(tongban_app::RefusalKind::Invalid, "upload_too_large")
                .on(field)
                .with("mb", tongban_domain::upload::MAX_FILE_BYTES / 1024 / 1024)
                .into()
        }
        UploadFormError::Unreadable => tongban_app::AppError::rejected("form_unreadable", field),
    }
}
