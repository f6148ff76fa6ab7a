//! E-mail notifications (optional): a resident may give an address, and with an SMTP relay
//! configured every message they would get by text also comes by e-mail, in Chinese and
//! English. Plain SMTP to a relay inside the government network, like the SMS gateway.

use std::str::FromStr;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::identity::Principal;
use crate::{AppError, Refusal, RefusalKind};

/// The vault's field name for e-mail addresses.
pub const EMAIL: &str = "email";
/// RFC 5321's limit on a path.
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp_url `{0}` is not an smtp:// URL with a host: {1}")]
    BadUrl(String, String),
    #[error("mail_from `{0}` is not an e-mail address")]
    BadFrom(String),
}

/// Sends mail through the county's SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// `smtp_url` as `smtp://[user:password@]host[:port]`; `from` as `清河通办 <noreply@…>` or
    /// a bare address.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, MailError> {
        if !smtp_url.starts_with("smtp://") {
            return Err(MailError::BadUrl(
                smtp_url.to_owned(),
                "use smtp:// (a relay inside the network)".into(),
            ));
        }
        let bad = |why: &str| MailError::BadUrl(smtp_url.to_owned(), why.to_owned());
        let rest = smtp_url.trim_start_matches("smtp://").trim_end_matches('/');
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, rest),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => (host_port, 25),
        };
        if host.is_empty() || host.contains(['/', '?', '#']) {
            return Err(bad("no host"));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(std::time::Duration::from_secs(10)));
        if let Some(credentials) = credentials {
            let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user.to_owned(),
                    password.to_owned(),
                ));
        }
        let transport = builder.build();
        let from = Mailbox::from_str(from).map_err(|_| MailError::BadFrom(from.to_owned()))?;
        Ok(Self { transport, from })
    }

    /// Sends one message; `Err` says why it was not accepted (for the retry record).
    pub async fn send(&self, to: &str, subject: &str, body: &str, key: &str) -> Result<(), String> {
        let to = Mailbox::from_str(to).map_err(|e| format!("recipient: {e}"))?;
        let domain = self.from.email.domain().to_owned();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            // The outbox row's id: a resend after a crash carries the same Message-ID, which
            // mail systems use to drop duplicates.
            .message_id(Some(format!("<{key}@{domain}>")))
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The subject and body of the e-mail for an event: Chinese, then English.
pub fn email_text(event: &str, payload: &serde_json::Value) -> Option<(String, String)> {
    let zh = crate::relay::sms_text(event, payload)?;
    let item = payload["item"].as_str().unwrap_or_default();
    let reference = payload["reference"].as_str().unwrap_or_default();
    let en = match event {
        "request_filed" => "has been received; it will be passed to the office that handles it",
        "request_dispatched" => "has been passed to the office that handles it",
        "request_signed" => "has been taken on by the office, which will contact you in time",
        "request_closed" => {
            "is closed: sign in to read the answer and rate it; if you are not satisfied you can reopen it within 7 days"
        }
        "request_merged" => "is handled together with an earlier report of the same problem",
        "submitted" => "has been submitted; it will be taken in within 5 working days",
        "supplement_requested" => {
            "needs more documents: sign in to Qinghe Tongban to see everything that is asked for"
        }
        "accepted" => "has been accepted; the time limit for the decision runs from today",
        "not_accepted" => "was not accepted; sign in to see the reason",
        "approved" => "has been approved; the result will be delivered as you chose",
        "denied" => "was not approved; sign in to see the reasons and their legal basis",
        "delivered" => "is complete and its result delivered; please rate the service",
        _ => return None,
    };
    let subject = format!("【清河通办】{item}（{reference}）");
    let body = format!(
        "{zh}\n\nQinghe Tongban: your application for \u{201c}{item}\u{201d} (reference {reference}) {en}.\n\n\
         这是一封自动发送的通知邮件，请勿直接回复。\nThis message was sent automatically; please do not reply to it.\n"
    );
    Some((subject, body))
}

/// Checks an address as a resident typed it; `Ok(None)` for an empty one (no e-mail).
pub fn parse_email(raw: &str) -> Result<Option<String>, AppError> {
    let email = raw.trim();
    if email.is_empty() {
        return Ok(None);
    }
    if email.chars().count() > MAX_EMAIL_CHARS || Address::from_str(email).is_err() {
        return Err(AppError::rejected("email_invalid", "email"));
    }
    Ok(Some(email.to_owned()))
}

impl crate::App {
    /// A resident sets (or, with an empty value, removes) the e-mail address notifications
    /// are also sent to. Returns the address kept.
    pub async fn set_notification_email(
        &self,
        p: &Principal,
        raw: &str,
    ) -> Result<Option<String>, AppError> {
        if p.actor.is_staff() {
            return Err(Refusal::new(RefusalKind::Forbidden, "forbidden").into());
        }
        let email = parse_email(raw)?;
        let mut u = self
            .store
            .user(&self.tenant, p.user_id())
            .await?
            .ok_or_else(|| AppError::hidden("person_not_found"))?;
        u.email_enc = email
            .as_deref()
            .map(|e| self.identity.vault.encrypt(EMAIL, e))
            .transpose()?;
        let mut tx = self.store.begin().await?;
        self.store
            .update_user(&mut tx, &self.tenant, &u, self.now_ms())
            .await?;
        let what = if email.is_some() { "set" } else { "removed" };
        let entry = self.audit_entry(&p.actor, "person.email", &format!("user:{}", u.id), what);
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_an_empty_one_means_none() {
        assert_eq!(
            parse_email("  li.ming@qq.com ").ok().flatten().as_deref(),
            Some("li.ming@qq.com")
        );
        assert!(matches!(parse_email(""), Ok(None)));
        assert!(parse_email("li.ming").is_err());
        assert!(parse_email("a@b@c").is_err());
        assert!(parse_email(&format!("{}@qq.com", "a".repeat(260))).is_err());
    }

    #[test]
    fn every_event_the_applicant_is_told_has_a_bilingual_mail() {
        let payload = serde_json::json!({"item": "个体工商户设立登记", "reference": "K7M-39Q-XAR"});
        for event in [
            "submitted",
            "supplement_requested",
            "accepted",
            "not_accepted",
            "approved",
            "denied",
            "delivered",
        ] {
            let (subject, body) = email_text(event, &payload).unwrap_or_default();
            assert!(subject.contains("K7M-39Q-XAR"), "{event}");
            assert!(
                body.contains("清河通办")
                    && body.contains("Qinghe Tongban")
                    && body.contains("K7M-39Q-XAR"),
                "{event}: {body}"
            );
        }
        assert_eq!(email_text("step_passed", &payload), None);
    }

    #[test]
    fn only_plain_smtp_relays_and_real_from_addresses_make_a_mailer() {
        assert!(
            Mailer::new(
                "smtp://relay.local:2525",
                "清河通办 <noreply@qinghe.gov.cn>"
            )
            .is_ok()
        );
        assert!(Mailer::new("smtps://relay.local", "noreply@qinghe.gov.cn").is_err());
        assert!(Mailer::new("smtp://relay.local", "not an address").is_err());
        assert!(
            Mailer::new(
                "smtp://user:secret@relay.local:587",
                "noreply@qinghe.gov.cn"
            )
            .is_ok()
        );
        assert!(Mailer::new("smtp://relay.local:port", "noreply@qinghe.gov.cn").is_err());
        assert!(Mailer::new("smtp://", "noreply@qinghe.gov.cn").is_err());
    }
}
