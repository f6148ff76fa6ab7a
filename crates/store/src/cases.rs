//! Applications: cases, their timeline and materials, and the notification outbox.

use crate::db::{self, Row, Value};
use tongban_domain::Tenant;

use crate::timeline::{Timeline, TimelineEvent, event_from_row};
use crate::{Store, StoreError, Tx};

/// A case as stored. Stage, clock and answers are kept in the forms the domain defines; the
/// app crate turns them into domain values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseRecord {
    pub id: String,
    pub reference: Option<String>,
    pub item_code: String,
    pub process_code: String,
    pub applicant_id: String,
    pub filed_by: String,
    /// `self`, `family`, `agent` or `clerk`.
    pub filed_as: String,
    pub consent_id: Option<String>,
    pub unit_code: String,
    pub division_code: Option<String>,
    pub stage: String,
    pub step: Option<i64>,
    pub outcome: Option<String>,
    /// JSON object of answers.
    pub answers: String,
    /// JSON of the decision clock.
    pub clock: Option<String>,
    pub statutory_days: i64,
    pub promised_days: i64,
    pub received_on: Option<String>,
    pub due_on: Option<String>,
    pub promised_on: Option<String>,
    pub idempotency_key: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
}

const CASE_COLUMNS: &str = "id, reference, item_code, process_code, applicant_id, filed_by, \
     filed_as, consent_id, unit_code, division_code, stage, step, outcome, answers, clock, \
     statutory_days, promised_days, received_on, due_on, promised_on, idempotency_key, version, \
     created_at, updated_at, submitted_at";

fn case_from_row(r: &Row) -> Result<CaseRecord, StoreError> {
    Ok(CaseRecord {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        item_code: r.try_get("item_code")?,
        process_code: r.try_get("process_code")?,
        applicant_id: r.try_get("applicant_id")?,
        filed_by: r.try_get("filed_by")?,
        filed_as: r.try_get("filed_as")?,
        consent_id: r.try_get("consent_id")?,
        unit_code: r.try_get("unit_code")?,
        division_code: r.try_get("division_code")?,
        stage: r.try_get("stage")?,
        step: r.try_get("step")?,
        outcome: r.try_get("outcome")?,
        answers: r.try_get("answers")?,
        clock: r.try_get("clock")?,
        statutory_days: r.try_get("statutory_days")?,
        promised_days: r.try_get("promised_days")?,
        received_on: r.try_get("received_on")?,
        due_on: r.try_get("due_on")?,
        promised_on: r.try_get("promised_on")?,
        idempotency_key: r.try_get("idempotency_key")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        submitted_at: r.try_get("submitted_at")?,
    })
}

/// One entry of a case's timeline.
pub type CaseEvent = TimelineEvent;

/// A notification waiting for (or past) delivery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxRecord {
    pub tenant: String,
    pub id: String,
    pub event: String,
    /// `inbox`, `sms`, `email` or `webhook`.
    pub channel: String,
    /// A user id (inbox), phone number, e-mail address or URL.
    pub recipient: String,
    pub case_id: Option<String>,
    /// The request it is about, for notifications of the request loop.
    pub request_id: Option<String>,
    /// JSON template arguments.
    pub payload: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
    pub dead_at: Option<i64>,
}

/// Rows one statement of a relay's batch records at most.
const BATCH_ROWS: usize = 16;

const OUTBOX_COLUMNS: &str = "tenant, id, event, channel, recipient, case_id, request_id, payload, \
     created_at, attempts, next_attempt_at, delivered_at, last_error, dead_at";

fn outbox_from_row(r: &Row) -> Result<OutboxRecord, StoreError> {
    Ok(OutboxRecord {
        tenant: r.try_get("tenant")?,
        id: r.try_get("id")?,
        event: r.try_get("event")?,
        channel: r.try_get("channel")?,
        recipient: r.try_get("recipient")?,
        case_id: r.try_get("case_id")?,
        request_id: r.try_get("request_id")?,
        payload: r.try_get("payload")?,
        created_at: r.try_get("created_at")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        delivered_at: r.try_get("delivered_at")?,
        last_error: r.try_get("last_error")?,
        dead_at: r.try_get("dead_at")?,
    })
}

/// A message in a person's in-app inbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboxMessage {
    pub id: String,
    pub user_id: String,
    pub event: String,
    pub case_id: Option<String>,
    pub request_id: Option<String>,
    pub payload: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// Which cases a worklist shows.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Only cases handled by one of these units (empty: any unit).
    pub units: Vec<String>,
    /// Only cases whose applicant lives under this division code prefix (a township office).
    pub division_prefix: Option<String>,
    /// Only cases in these stages (empty: any).
    pub stages: Vec<String>,
    /// Only cases due on or before this date (YYYY-MM-DD): the yellow and red ones.
    pub due_by: Option<String>,
    pub applicant_id: Option<String>,
    pub limit: i64,
}

/// The `AND …` conditions of `q`, with their arguments bound from `$2` on.
fn case_filter(q: &CaseQuery) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut args: Vec<String> = Vec::new();
    let placeholder = |args: &mut Vec<String>, v: &str| {
        args.push(v.to_owned());
        format!("${}", args.len() + 1)
    };
    if !q.units.is_empty() {
        let ps: Vec<String> = q.units.iter().map(|u| placeholder(&mut args, u)).collect();
        sql.push_str(&format!(" AND unit_code IN ({})", ps.join(", ")));
    }
    if let Some(prefix) = &q.division_prefix {
        let p = placeholder(&mut args, &format!("{prefix}%"));
        sql.push_str(&format!(" AND division_code LIKE {p}"));
    }
    if !q.stages.is_empty() {
        let ps: Vec<String> = q.stages.iter().map(|s| placeholder(&mut args, s)).collect();
        sql.push_str(&format!(" AND stage IN ({})", ps.join(", ")));
    }
    if let Some(by) = &q.due_by {
        let p = placeholder(&mut args, by);
        sql.push_str(&format!(" AND due_on IS NOT NULL AND due_on <= {p}"));
    }
    if let Some(a) = &q.applicant_id {
        let p = placeholder(&mut args, a);
        sql.push_str(&format!(" AND applicant_id = {p}"));
    }
    (sql, args)
}

impl Store {
    pub async fn insert_case(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        c: &CaseRecord,
    ) -> Result<(), StoreError> {
        db::query(format!(
            "INSERT INTO cases (tenant, {CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        ))
        .bind(tenant.as_str())
        .bind(&c.id)
        .bind(&c.reference)
        .bind(&c.item_code)
        .bind(&c.process_code)
        .bind(&c.applicant_id)
        .bind(&c.filed_by)
        .bind(&c.filed_as)
        .bind(&c.consent_id)
        .bind(&c.unit_code)
        .bind(&c.division_code)
        .bind(&c.stage)
        .bind(c.step)
        .bind(&c.outcome)
        .bind(&c.answers)
        .bind(&c.clock)
        .bind(c.statutory_days)
        .bind(c.promised_days)
        .bind(&c.received_on)
        .bind(&c.due_on)
        .bind(&c.promised_on)
        .bind(&c.idempotency_key)
        .bind(c.version)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.submitted_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Writes every changeable field of `c` if the stored version is still `c.version - 1`;
    /// `false` when someone changed the case meanwhile (the caller re-reads and retries or
    /// reports the conflict).
    pub async fn update_case(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        c: &CaseRecord,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE cases SET reference = $3, unit_code = $4, division_code = $5, stage = $6, \
             step = $7, outcome = $8, answers = $9, clock = $10, received_on = $11, due_on = $12, \
             promised_on = $13, version = $14, updated_at = $15, submitted_at = $16, \
             idempotency_key = $17 \
             WHERE tenant = $1 AND id = $2 AND version = $14 - 1",
        )
        .bind(tenant.as_str())
        .bind(&c.id)
        .bind(&c.reference)
        .bind(&c.unit_code)
        .bind(&c.division_code)
        .bind(&c.stage)
        .bind(c.step)
        .bind(&c.outcome)
        .bind(&c.answers)
        .bind(&c.clock)
        .bind(&c.received_on)
        .bind(&c.due_on)
        .bind(&c.promised_on)
        .bind(c.version)
        .bind(c.updated_at)
        .bind(c.submitted_at)
        .bind(&c.idempotency_key)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn case(&self, tenant: &Tenant, id: &str) -> Result<Option<CaseRecord>, StoreError> {
        let row = db::query(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE tenant = $1 AND id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    pub async fn case_by_reference(
        &self,
        tenant: &Tenant,
        reference: &str,
    ) -> Result<Option<CaseRecord>, StoreError> {
        let row = db::query(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE tenant = $1 AND reference = $2"
        ))
        .bind(tenant.as_str())
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// The case a filer already made with this idempotency key, if any.
    pub async fn case_by_idempotency_key(
        &self,
        tenant: &Tenant,
        filed_by: &str,
        key: &str,
    ) -> Result<Option<CaseRecord>, StoreError> {
        let row = db::query(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE tenant = $1 AND filed_by = $2 \
             AND idempotency_key = $3"
        ))
        .bind(tenant.as_str())
        .bind(filed_by)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// Cases matching `q`, the most urgent first (earliest due date; undated last), then the
    /// oldest.
    pub async fn cases(
        &self,
        tenant: &Tenant,
        q: &CaseQuery,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let (filter, args) = case_filter(q);
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE tenant = $1{filter} \
             ORDER BY CASE WHEN due_on IS NULL THEN 1 ELSE 0 END, due_on, created_at, id LIMIT {}",
            q.limit.clamp(1, 1000)
        );
        let query = db::query(sql)
            .bind(tenant.as_str())
            .bind_all(args.into_iter().map(Value::Text));
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(case_from_row).collect()
    }

    /// How many cases match `q` (its limit aside): the "of N" beside a shortened list.
    pub async fn count_cases(&self, tenant: &Tenant, q: &CaseQuery) -> Result<i64, StoreError> {
        let (filter, args) = case_filter(q);
        let sql = format!("SELECT COUNT(*) AS n FROM cases WHERE tenant = $1{filter}");
        let query = db::query(sql)
            .bind(tenant.as_str())
            .bind_all(args.into_iter().map(Value::Text));
        query.fetch_one(&self.pool).await?.try_get("n")
    }

    /// Appends a timeline entry after the case's last one; returns its number.
    pub async fn append_case_event(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        e: &CaseEvent,
    ) -> Result<i64, StoreError> {
        Timeline::Cases.append(tx, tenant, e).await
    }

    pub async fn case_events(
        &self,
        tenant: &Tenant,
        case_id: &str,
    ) -> Result<Vec<CaseEvent>, StoreError> {
        let rows = Timeline::Cases
            .query(tenant, case_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub async fn insert_outbox(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        m: &OutboxRecord,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO outbox (tenant, id, event, channel, recipient, case_id, payload, \
             created_at, attempts, next_attempt_at, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10)",
        )
        .bind(tenant.as_str())
        .bind(&m.id)
        .bind(&m.event)
        .bind(&m.channel)
        .bind(&m.recipient)
        .bind(&m.case_id)
        .bind(&m.payload)
        .bind(m.created_at)
        .bind(m.next_attempt_at)
        .bind(&m.request_id)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Undelivered notifications whose next attempt is due at `now_ms`, oldest first, across
    /// tenants (one relay serves the deployment).
    pub async fn due_outbox(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = db::query(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at, created_at, id LIMIT $2"
        ))
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Records the delivery of the rows `ids` of `tenant` at once; rows another relay recorded
    /// first are left as they are.
    pub async fn mark_outbox_delivered_all(
        &self,
        tx: &mut Tx,
        tenant: &str,
        ids: &[&str],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        for piece in db::batch_pieces(ids, BATCH_ROWS) {
            db::query(format!(
                "UPDATE outbox SET delivered_at = $2, attempts = attempts + 1 \
                 WHERE tenant = $1 AND delivered_at IS NULL AND id IN ({})",
                db::placeholders(3, piece.len())
            ))
            .bind(tenant)
            .bind(at_ms)
            .bind_all(piece.into_iter().map(|id| Value::Text((*id).to_owned())))
            .execute(tx.conn())
            .await?;
        }
        Ok(())
    }

    /// Records a failed attempt: retry at `retry_at_ms`, or give up (`None`: a dead letter).
    pub async fn mark_outbox_failed(
        &self,
        tx: &mut Tx,
        tenant: &str,
        id: &str,
        error: &str,
        now_ms: i64,
        retry_at_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        db::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $3, \
             next_attempt_at = COALESCE($5, next_attempt_at), \
             dead_at = CASE WHEN $5 IS NULL THEN $4 ELSE NULL END \
             WHERE tenant = $1 AND id = $2 AND delivered_at IS NULL",
        )
        .bind(tenant)
        .bind(id)
        .bind(error)
        .bind(now_ms)
        .bind(retry_at_ms)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Notifications given up on, newest first.
    pub async fn dead_letters(
        &self,
        tenant: &Tenant,
        limit: i64,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = db::query(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE tenant = $1 AND dead_at IS NOT NULL \
             ORDER BY dead_at DESC, id LIMIT $2"
        ))
        .bind(tenant.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Every notification written for a case, in order (tests and the case's history).
    pub async fn outbox_of_case(
        &self,
        tenant: &Tenant,
        case_id: &str,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows = db::query(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE tenant = $1 AND case_id = $2 \
             ORDER BY created_at, id"
        ))
        .bind(tenant.as_str())
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Puts messages in inboxes, several to a statement. A message takes its outbox row's id,
    /// so delivering the same row twice adds it once.
    pub async fn insert_inbox_all(
        &self,
        tx: &mut Tx,
        tenant: &str,
        messages: &[InboxMessage],
    ) -> Result<(), StoreError> {
        const COLUMNS: usize = 8;
        for piece in db::batch_pieces(messages, BATCH_ROWS) {
            let rows = (0..piece.len())
                .map(|i| format!("({})", db::placeholders(1 + i * COLUMNS, COLUMNS)))
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = db::query(format!(
                "INSERT INTO inbox (tenant, id, user_id, event, case_id, payload, created_at, request_id) \
                 VALUES {rows} ON CONFLICT (tenant, id) DO NOTHING"
            ));
            for m in piece {
                q = q
                    .bind(tenant)
                    .bind(&m.id)
                    .bind(&m.user_id)
                    .bind(&m.event)
                    .bind(&m.case_id)
                    .bind(&m.payload)
                    .bind(m.created_at)
                    .bind(&m.request_id);
            }
            q.execute(tx.conn()).await?;
        }
        Ok(())
    }

    pub async fn inbox(
        &self,
        tenant: &Tenant,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<InboxMessage>, StoreError> {
        let rows = db::query(
            "SELECT id, user_id, event, case_id, request_id, payload, created_at, read_at FROM inbox \
             WHERE tenant = $1 AND user_id = $2 ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InboxMessage {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    event: r.try_get("event")?,
                    case_id: r.try_get("case_id")?,
                    request_id: r.try_get("request_id")?,
                    payload: r.try_get("payload")?,
                    created_at: r.try_get("created_at")?,
                    read_at: r.try_get("read_at")?,
                })
            })
            .collect()
    }
}

/// A file uploaded for one of a case's materials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaterialRecord {
    pub id: String,
    pub case_id: String,
    pub material: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    pub superseded_at: Option<i64>,
}

fn material_from_row(r: &Row) -> Result<MaterialRecord, StoreError> {
    Ok(MaterialRecord {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        material: r.try_get("material")?,
        file_name: r.try_get("file_name")?,
        media_type: r.try_get("media_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
        superseded_at: r.try_get("superseded_at")?,
    })
}

const MATERIAL_COLUMNS: &str = "id, case_id, material, file_name, media_type, size, sha256, \
     uploaded_by, uploaded_at, superseded_at";

impl Store {
    pub async fn insert_material(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        m: &MaterialRecord,
    ) -> Result<(), StoreError> {
        db::query(format!(
            "INSERT INTO case_materials (tenant, {MATERIAL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(tenant.as_str())
        .bind(&m.id)
        .bind(&m.case_id)
        .bind(&m.material)
        .bind(&m.file_name)
        .bind(&m.media_type)
        .bind(m.size)
        .bind(&m.sha256)
        .bind(&m.uploaded_by)
        .bind(m.uploaded_at)
        .bind(m.superseded_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// A case's files, current ones first by upload time, then superseded ones.
    pub async fn materials_of_case(
        &self,
        tenant: &Tenant,
        case_id: &str,
    ) -> Result<Vec<MaterialRecord>, StoreError> {
        let rows = db::query(format!(
            "SELECT {MATERIAL_COLUMNS} FROM case_materials WHERE tenant = $1 AND case_id = $2 \
             ORDER BY CASE WHEN superseded_at IS NULL THEN 0 ELSE 1 END, uploaded_at, id"
        ))
        .bind(tenant.as_str())
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(material_from_row).collect()
    }

    /// Marks a case's current files for `material` as replaced.
    pub async fn supersede_materials(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        case_id: &str,
        material: &str,
        at_ms: i64,
    ) -> Result<u64, StoreError> {
        let done = db::query(
            "UPDATE case_materials SET superseded_at = $4 WHERE tenant = $1 AND case_id = $2 \
             AND material = $3 AND superseded_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(case_id)
        .bind(material)
        .bind(at_ms)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// Puts a dead letter back in the queue for a fresh round of attempts; `false` if it is
    /// not (or no longer) a dead letter.
    pub async fn retry_dead_letter(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = $3 \
             WHERE tenant = $1 AND id = $2 AND dead_at IS NOT NULL AND delivered_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
