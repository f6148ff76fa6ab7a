//! Timelines: what happened to a case or a request, an entry per change, numbered from one in
//! the order they happened. Cases and requests keep the same entries, each in a table of its
//! own.

use tongban_domain::Tenant;

use crate::db::{self, Row};
use crate::{StoreError, Tx};

/// One entry of a case's or a request's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimelineEvent {
    /// The case or request it belongs to.
    pub subject_id: String,
    pub seq: i64,
    pub at: i64,
    pub actor_id: String,
    pub actor_unit: Option<String>,
    pub action: String,
    pub from_stage: Option<String>,
    pub to_stage: String,
    /// JSON.
    pub detail: String,
}

/// Whose timeline an entry belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timeline {
    Cases,
    Requests,
}

/// The two statements of a timeline table whose rows name their case or request in `subject`.
macro_rules! statements {
    ($table:literal, $subject:literal) => {
        (
            concat!(
                "INSERT INTO ",
                $table,
                " (tenant, ",
                $subject,
                ", seq, at, actor_id, actor_unit, \
                 action, from_stage, to_stage, detail) \
                 SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9 \
                 FROM ",
                $table,
                " WHERE tenant = $1 AND ",
                $subject,
                " = $2 RETURNING seq"
            ),
            concat!(
                "SELECT ",
                $subject,
                " AS subject_id, seq, at, actor_id, actor_unit, action, \
                 from_stage, to_stage, detail FROM ",
                $table,
                " WHERE tenant = $1 AND ",
                $subject,
                " = $2 ORDER BY seq"
            ),
        )
    };
}

impl Timeline {
    /// The statement appending an entry, and the one reading a whole timeline.
    fn statements(self) -> (&'static str, &'static str) {
        match self {
            Timeline::Cases => statements!("case_events", "case_id"),
            Timeline::Requests => statements!("request_events", "request_id"),
        }
    }

    /// Appends `e` after the last entry of its case or request; returns its number.
    pub(crate) async fn append(
        self,
        tx: &mut Tx,
        tenant: &Tenant,
        e: &TimelineEvent,
    ) -> Result<i64, StoreError> {
        let row = db::query(self.statements().0)
            .bind(tenant.as_str())
            .bind(&e.subject_id)
            .bind(e.at)
            .bind(&e.actor_id)
            .bind(&e.actor_unit)
            .bind(&e.action)
            .bind(&e.from_stage)
            .bind(&e.to_stage)
            .bind(&e.detail)
            .fetch_one(tx.conn())
            .await?;
        row.try_get("seq")
    }

    /// The query for the whole timeline of `subject_id`, in order; its rows are read by
    /// [`event_from_row`].
    pub(crate) fn query(self, tenant: &Tenant, subject_id: &str) -> db::Query {
        db::query(self.statements().1)
            .bind(tenant.as_str())
            .bind(subject_id)
    }
}

pub(crate) fn event_from_row(r: &Row) -> Result<TimelineEvent, StoreError> {
    Ok(TimelineEvent {
        subject_id: r.try_get("subject_id")?,
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor_id: r.try_get("actor_id")?,
        actor_unit: r.try_get("actor_unit")?,
        action: r.try_get("action")?,
        from_stage: r.try_get("from_stage")?,
        to_stage: r.try_get("to_stage")?,
        detail: r.try_get("detail")?,
    })
}
