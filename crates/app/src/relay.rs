//! The notification relay: delivers what changes wrote to the outbox, a batch at a time.
//! Text messages, e-mails and webhooks of a batch are sent a few at once; then one
//! transaction records the whole batch: in-app messages are written there, keyed by their
//! outbox row, and every delivered row is marked done. So in-app messages arrive exactly once
//! however often the relay runs or crashes. A crash between sending and recording sends a
//! message again, which is why each carries its row's id as the gateway's idempotency key,
//! so that the resend is recognised. Failures are retried with growing waits, then kept as
//! dead letters for administrators.

use std::collections::BTreeMap;

use futures_util::{StreamExt, stream};
use tongban_domain::PhoneNumber;
use tongban_store::{InboxMessage, OutboxRecord};

use crate::AppError;

/// Attempts before a notification is given up (a dead letter).
pub const MAX_ATTEMPTS: i64 = 8;
const FIRST_RETRY_MS: i64 = 30_000;
const LONGEST_RETRY_MS: i64 = 3_600_000;
/// Notifications of a batch sent at once: enough to keep a gateway that answers in tens of
/// milliseconds busy, few enough not to flood it.
const SENDS_AT_ONCE: usize = 8;

/// The wait before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    FIRST_RETRY_MS
        .saturating_mul(1_i64 << doublings)
        .min(LONGEST_RETRY_MS)
}

/// What one pass of the relay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayReport {
    pub delivered: u64,
    pub retrying: u64,
    pub dead: u64,
}

/// The text message for an event, in Chinese (the language of the county's SMS channel).
pub fn sms_text(event: &str, payload: &serde_json::Value) -> Option<String> {
    let item = payload["item"].as_str().unwrap_or_default();
    let reference = payload["reference"].as_str().unwrap_or_default();
    if payload["request"].as_bool() == Some(true) {
        let what = match event {
            "request_filed" => "已收到，我们会尽快转交办理单位",
            "request_dispatched" => "已转交办理单位",
            "request_signed" => "办理单位已签收，将在规定时限内与您联系",
            "request_closed" => {
                "已办结，请登录清河通办查看答复并评价；如不满意，可在 7 日内申请重新办理"
            }
            "request_merged" => "与此前相同的诉求合并办理，进度请看原诉求",
            _ => return None,
        };
        return Some(format!(
            "【清河通办】您反映的{item}诉求（编号 {reference}）{what}。"
        ));
    }
    let what = match event {
        "submitted" => "已提交，我们会在 5 个工作日内受理",
        "supplement_requested" => "需要补正材料，请登录清河通办查看需补充的全部材料",
        "accepted" => "已受理，审批时限从今天起算",
        "not_accepted" => "不予受理，原因请登录清河通办查看",
        "approved" => "已审批通过，结果将按您选择的方式送达",
        "denied" => "未获批准，理由和依据请登录清河通办查看",
        "delivered" => "办理结果已送达，欢迎对本次服务评价",
        _ => return None,
    };
    Some(format!(
        "【清河通办】您申请的“{item}”（编号 {reference}）{what}。"
    ))
}

impl crate::App {
    /// Delivers up to `limit` notifications that are due. Safe to run from several processes
    /// at once: a row is marked delivered only once, and in-app messages are keyed by the
    /// row's id.
    pub async fn relay_outbox(&self, limit: i64) -> Result<RelayReport, AppError> {
        let mut report = RelayReport::default();
        let due = self.store.due_outbox(self.now_ms(), limit).await?;
        if due.is_empty() {
            return Ok(report);
        }
        let outcomes: Vec<Result<(), String>> = stream::iter(&due)
            .map(|m| self.send(m))
            .buffered(SENDS_AT_ONCE)
            .collect()
            .await;
        let now = self.now_ms();
        // The batch's in-app messages and delivered rows are written a piece at a time, per
        // tenant (a batch may hold several), a statement per piece instead of one per row.
        let mut delivered: BTreeMap<&str, (Vec<InboxMessage>, Vec<&str>)> = BTreeMap::new();
        let mut tx = self.store.begin().await?;
        for (m, outcome) in due.iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    let (inbox, ids) = delivered.entry(m.tenant.as_str()).or_default();
                    if m.channel == "inbox" {
                        inbox.push(InboxMessage {
                            id: m.id.clone(),
                            user_id: m.recipient.clone(),
                            event: m.event.clone(),
                            case_id: m.case_id.clone(),
                            request_id: m.request_id.clone(),
                            payload: m.payload.clone(),
                            created_at: m.created_at,
                            read_at: None,
                        });
                    }
                    ids.push(&m.id);
                    report.delivered += 1;
                }
                Err(reason) => {
                    let retry =
                        (m.attempts + 1 < MAX_ATTEMPTS).then(|| now + retry_delay_ms(m.attempts));
                    if retry.is_some() {
                        report.retrying += 1;
                    } else {
                        report.dead += 1;
                        tracing::warn!(id = %m.id, event = %m.event, channel = %m.channel, %reason, "notification given up");
                    }
                    self.store
                        .mark_outbox_failed(&mut tx, &m.tenant, &m.id, &reason, now, retry)
                        .await?;
                }
            }
        }
        for (tenant, (inbox, ids)) in &delivered {
            self.store.insert_inbox_all(&mut tx, tenant, inbox).await?;
            self.store
                .mark_outbox_delivered_all(&mut tx, tenant, ids, now)
                .await?;
        }
        tx.commit().await?;
        Ok(report)
    }

    /// Sends one notification out of the house (an in-app message needs no sending); `Err`
    /// carries why it failed, for the retry record.
    async fn send(&self, m: &OutboxRecord) -> Result<(), String> {
        match m.channel.as_str() {
            "inbox" => Ok(()),
            "sms" => {
                let payload: serde_json::Value =
                    serde_json::from_str(&m.payload).unwrap_or_default();
                let text = sms_text(&m.event, &payload)
                    .ok_or_else(|| format!("no text message for event `{}`", m.event))?;
                let phone = PhoneNumber::parse(&m.recipient)
                    .map_err(|_| "the recipient is not a mobile number".to_owned())?;
                self.identity
                    .sms
                    .send_once(&phone, &text, &m.id)
                    .await
                    .map_err(|e| e.to_string())
            }
            "email" => {
                let mailer = self
                    .mailer
                    .as_ref()
                    .ok_or_else(|| "no SMTP relay is configured".to_owned())?;
                let payload: serde_json::Value =
                    serde_json::from_str(&m.payload).unwrap_or_default();
                let (subject, body) = crate::email::email_text(&m.event, &payload)
                    .ok_or_else(|| format!("no e-mail for event `{}`", m.event))?;
                mailer.send(&m.recipient, &subject, &body, &m.id).await
            }
            "webhook" => {
                let hook = self
                    .webhook
                    .as_ref()
                    .ok_or_else(|| "no webhook is configured".to_owned())?;
                let body = serde_json::to_vec(&serde_json::json!({
                    "id": m.id,
                    "event": m.event,
                    "case_id": m.case_id,
                    "request_id": m.request_id,
                    "at": m.created_at,
                    "case": serde_json::from_str::<serde_json::Value>(&m.payload).unwrap_or_default(),
                }))
                .map_err(|e| e.to_string())?;
                hook.deliver(&m.id, &m.event, body).await
            }
            other => Err(format!("no `{other}` channel is configured")),
        }
    }
}

impl crate::App {
    /// Notifications given up on, for administrators.
    pub async fn dead_letters(
        &self,
        actor: &tongban_domain::Actor,
    ) -> Result<Vec<OutboxRecord>, AppError> {
        if !tongban_domain::access::may_administer(actor) {
            return Err(AppError::forbidden());
        }
        Ok(self.store.dead_letters(&self.tenant, 200).await?)
    }

    /// An administrator sends a dead letter again (after fixing the gateway, say).
    pub async fn retry_dead_letter(
        &self,
        actor: &tongban_domain::Actor,
        id: &str,
    ) -> Result<(), AppError> {
        if !tongban_domain::access::may_administer(actor) {
            return Err(AppError::forbidden());
        }
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .retry_dead_letter(&mut tx, &self.tenant, id, self.now_ms())
            .await?
        {
            return Err(AppError::hidden("notification_not_found"));
        }
        let entry = self.audit_entry(actor, "outbox.retry", &format!("outbox:{id}"), "");
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        let waits: Vec<i64> = (0..9).map(retry_delay_ms).collect();
        assert_eq!(&waits[..4], &[30_000, 60_000, 120_000, 240_000]);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(waits[8], LONGEST_RETRY_MS);
    }

    #[test]
    fn every_event_the_applicant_is_told_has_a_text() {
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
            let text = sms_text(event, &payload).unwrap_or_default();
            assert!(
                text.contains("K7M-39Q-XAR") && text.contains("个体工商户设立登记"),
                "{event}: {text}"
            );
        }
        assert_eq!(sms_text("supplied", &payload), None);
        let request =
            serde_json::json!({"item": "投诉", "reference": "K7M-39Q-XAR", "request": true});
        for event in [
            "request_filed",
            "request_dispatched",
            "request_signed",
            "request_closed",
            "request_merged",
        ] {
            let text = sms_text(event, &request).unwrap_or_default();
            assert!(
                text.contains("K7M-39Q-XAR") && text.contains("投诉诉求"),
                "{event}: {text}"
            );
        }
        assert_eq!(sms_text("request_urged", &request), None);
    }
}
