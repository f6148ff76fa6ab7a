//! Requests (诉求): the request row with its loop state and deadlines, its timeline and photos;
//! the dispatch history and keyword rules routing learns from; Open311 API keys.

use crate::db::{self, Row, Value};
use tongban_domain::Tenant;

use crate::timeline::{Timeline, TimelineEvent, event_from_row};
use crate::{Store, StoreError, Tx};

/// One request as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestRecord {
    pub id: String,
    pub reference: String,
    pub kind: String,
    pub category: String,
    pub urgency: String,
    pub text: String,
    pub township_code: Option<String>,
    pub village_code: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub anonymous: bool,
    pub disclose: bool,
    /// `app`, `hotline`, `api` or `open311`.
    pub channel: String,
    pub requester_id: Option<String>,
    pub contact_name_enc: Option<String>,
    pub contact_phone_enc: Option<String>,
    pub service_code: Option<String>,
    pub stage: String,
    pub unit_code: Option<String>,
    /// The domain's `RequestState` as JSON.
    pub state: String,
    pub sign_by: Option<i64>,
    pub contact_by: Option<i64>,
    pub resolve_by: Option<i64>,
    pub dispatched_at: Option<i64>,
    pub signed_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub reply_text: Option<String>,
    pub rating: Option<i64>,
    pub merged_into: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const REQUEST_COLUMNS: &str = "id, reference, kind, category, urgency, text, township_code, \
     village_code, lat, lon, address, anonymous, disclose, channel, requester_id, contact_name_enc, \
     contact_phone_enc, service_code, stage, unit_code, state, sign_by, contact_by, resolve_by, \
     dispatched_at, signed_at, replied_at, closed_at, reply_text, rating, merged_into, version, \
     created_at, updated_at";

fn request_from_row(r: &Row) -> Result<RequestRecord, StoreError> {
    Ok(RequestRecord {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        kind: r.try_get("kind")?,
        category: r.try_get("category")?,
        urgency: r.try_get("urgency")?,
        text: r.try_get("text")?,
        township_code: r.try_get("township_code")?,
        village_code: r.try_get("village_code")?,
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
        address: r.try_get("address")?,
        anonymous: r.try_get::<i64, _>("anonymous")? != 0,
        disclose: r.try_get::<i64, _>("disclose")? != 0,
        channel: r.try_get("channel")?,
        requester_id: r.try_get("requester_id")?,
        contact_name_enc: r.try_get("contact_name_enc")?,
        contact_phone_enc: r.try_get("contact_phone_enc")?,
        service_code: r.try_get("service_code")?,
        stage: r.try_get("stage")?,
        unit_code: r.try_get("unit_code")?,
        state: r.try_get("state")?,
        sign_by: r.try_get("sign_by")?,
        contact_by: r.try_get("contact_by")?,
        resolve_by: r.try_get("resolve_by")?,
        dispatched_at: r.try_get("dispatched_at")?,
        signed_at: r.try_get("signed_at")?,
        replied_at: r.try_get("replied_at")?,
        closed_at: r.try_get("closed_at")?,
        reply_text: r.try_get("reply_text")?,
        rating: r.try_get("rating")?,
        merged_into: r.try_get("merged_into")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn photos_query(tenant: &Tenant, request_id: &str) -> db::Query {
    db::query(
        "SELECT id, request_id, part, file_name, media_type, size, sha256, uploaded_by, \
         uploaded_at FROM request_photos WHERE tenant = $1 AND request_id = $2 \
         ORDER BY uploaded_at, id",
    )
    .bind(tenant.as_str())
    .bind(request_id)
}

fn photo_from_row(r: &Row) -> Result<RequestPhoto, StoreError> {
    Ok(RequestPhoto {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        part: r.try_get("part")?,
        file_name: r.try_get("file_name")?,
        media_type: r.try_get("media_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

/// One entry of a request's timeline.
pub type RequestEvent = TimelineEvent;

/// A photo attached to a request or to its reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestPhoto {
    pub id: String,
    pub request_id: String,
    /// `request` or `reply`.
    pub part: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
}

/// One dispatch routing learns from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutingExample {
    pub id: String,
    pub text: String,
    pub township_code: Option<String>,
    pub unit_code: String,
    pub accepted: bool,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutingRule {
    pub id: String,
    pub keyword: String,
    pub unit_code: String,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub key_hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    pub stages: Vec<String>,
    pub units: Vec<String>,
    pub requester_id: Option<String>,
    pub township_code: Option<String>,
    /// Only this category (an Open311 service code).
    pub category: Option<String>,
    /// Created at or after / before (ms).
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// Last changed at or after / before (ms).
    pub updated_from: Option<i64>,
    pub updated_to: Option<i64>,
    /// Only those whose resolve-by deadline has passed by then (ms).
    pub overdue_at: Option<i64>,
    pub disclosed_only: bool,
    /// Only requests whose text or answer contains this.
    pub text_contains: Option<String>,
    /// Newest first (else most urgent deadline first).
    pub newest_first: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Binds `a` as the next argument (after the tenant, `$1`); returns its placeholder.
fn push(args: &mut Vec<Value>, a: Value) -> String {
    args.push(a);
    format!("${}", args.len() + 1)
}

fn request_filter(q: &RequestQuery) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut args: Vec<Value> = Vec::new();
    for (column, values) in [("stage", &q.stages), ("unit_code", &q.units)] {
        if !values.is_empty() {
            let ps: Vec<String> = values
                .iter()
                .map(|v| push(&mut args, Value::Text(v.clone())))
                .collect();
            sql.push_str(&format!(" AND {column} IN ({})", ps.join(", ")));
        }
    }
    for (column, value) in [
        ("requester_id", &q.requester_id),
        ("township_code", &q.township_code),
        ("category", &q.category),
    ] {
        if let Some(v) = value {
            let p = push(&mut args, Value::Text(v.clone()));
            sql.push_str(&format!(" AND {column} = {p}"));
        }
    }
    for (condition, value) in [
        ("created_at >=", q.created_from),
        ("created_at <=", q.created_to),
        ("updated_at >=", q.updated_from),
        ("updated_at <=", q.updated_to),
        ("resolve_by <", q.overdue_at),
    ] {
        if let Some(v) = value {
            let p = push(&mut args, Value::Int(v));
            sql.push_str(&format!(" AND {condition} {p}"));
        }
    }
    if let Some(words) = &q.text_contains {
        let pattern = format!(
            "%{}%",
            words
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let a = push(&mut args, Value::Text(pattern.clone()));
        let b = push(&mut args, Value::Text(pattern));
        sql.push_str(&format!(
            " AND (text LIKE {a} ESCAPE '\\' OR COALESCE(reply_text, '') LIKE {b} ESCAPE '\\')"
        ));
    }
    if q.disclosed_only {
        sql.push_str(" AND disclose = 1 AND stage = 'closed'");
    }
    (sql, args)
}

impl Store {
    pub async fn insert_request(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        r: &RequestRecord,
    ) -> Result<(), StoreError> {
        let placeholders: Vec<String> = (2..=35).map(|i| format!("${i}")).collect();
        db::query(format!(
            "INSERT INTO requests (tenant, {REQUEST_COLUMNS}) VALUES ($1, {})",
            placeholders.join(", ")
        ))
        .bind(tenant.as_str())
        .bind(&r.id)
        .bind(&r.reference)
        .bind(&r.kind)
        .bind(&r.category)
        .bind(&r.urgency)
        .bind(&r.text)
        .bind(&r.township_code)
        .bind(&r.village_code)
        .bind(r.lat)
        .bind(r.lon)
        .bind(&r.address)
        .bind(i64::from(r.anonymous))
        .bind(i64::from(r.disclose))
        .bind(&r.channel)
        .bind(&r.requester_id)
        .bind(&r.contact_name_enc)
        .bind(&r.contact_phone_enc)
        .bind(&r.service_code)
        .bind(&r.stage)
        .bind(&r.unit_code)
        .bind(&r.state)
        .bind(r.sign_by)
        .bind(r.contact_by)
        .bind(r.resolve_by)
        .bind(r.dispatched_at)
        .bind(r.signed_at)
        .bind(r.replied_at)
        .bind(r.closed_at)
        .bind(&r.reply_text)
        .bind(r.rating)
        .bind(&r.merged_into)
        .bind(r.version)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Writes the loop's fields of `r` if the stored version is still `r.version - 1`; `false`
    /// when someone changed the request meanwhile.
    pub async fn update_request(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        r: &RequestRecord,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE requests SET stage = $3, unit_code = $4, state = $5, sign_by = $6, \
             contact_by = $7, resolve_by = $8, dispatched_at = $9, signed_at = $10, \
             replied_at = $11, closed_at = $12, reply_text = $13, rating = $14, merged_into = $15, \
             version = $16, updated_at = $17, category = $18, urgency = $19 \
             WHERE tenant = $1 AND id = $2 AND version = $16 - 1",
        )
        .bind(tenant.as_str())
        .bind(&r.id)
        .bind(&r.stage)
        .bind(&r.unit_code)
        .bind(&r.state)
        .bind(r.sign_by)
        .bind(r.contact_by)
        .bind(r.resolve_by)
        .bind(r.dispatched_at)
        .bind(r.signed_at)
        .bind(r.replied_at)
        .bind(r.closed_at)
        .bind(&r.reply_text)
        .bind(r.rating)
        .bind(&r.merged_into)
        .bind(r.version)
        .bind(r.updated_at)
        .bind(&r.category)
        .bind(&r.urgency)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn request(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let row = db::query(format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant = $1 AND id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    pub async fn request_by_reference(
        &self,
        tenant: &Tenant,
        reference: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let row = db::query(format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant = $1 AND reference = $2"
        ))
        .bind(tenant.as_str())
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    pub async fn requests(
        &self,
        tenant: &Tenant,
        q: &RequestQuery,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let (filter, args) = request_filter(q);
        let order = if q.newest_first {
            "created_at DESC, id"
        } else {
            "CASE WHEN resolve_by IS NULL THEN 1 ELSE 0 END, resolve_by, created_at, id"
        };
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant = $1{filter} ORDER BY {order} \
             LIMIT {} OFFSET {}",
            q.limit.clamp(1, 1000),
            q.offset.max(0)
        );
        let query = db::query(sql).bind(tenant.as_str()).bind_all(args);
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(request_from_row).collect()
    }

    pub async fn count_requests(
        &self,
        tenant: &Tenant,
        q: &RequestQuery,
    ) -> Result<i64, StoreError> {
        let (filter, args) = request_filter(q);
        let sql = format!("SELECT COUNT(*) AS n FROM requests WHERE tenant = $1{filter}");
        let query = db::query(sql).bind(tenant.as_str()).bind_all(args);
        query.fetch_one(&self.pool).await?.try_get("n")
    }

    /// Appends a timeline entry after the request's last one; returns its number.
    pub async fn append_request_event(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        e: &RequestEvent,
    ) -> Result<i64, StoreError> {
        Timeline::Requests.append(tx, tenant, e).await
    }

    pub async fn request_events(
        &self,
        tenant: &Tenant,
        request_id: &str,
    ) -> Result<Vec<RequestEvent>, StoreError> {
        let rows = Timeline::Requests
            .query(tenant, request_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// A request's timeline and photos, read together (one snapshot on SQLite): what every
    /// answer about one request shows.
    pub async fn request_history(
        &self,
        tenant: &Tenant,
        request_id: &str,
    ) -> Result<(Vec<RequestEvent>, Vec<RequestPhoto>), StoreError> {
        let queries = vec![
            Timeline::Requests.query(tenant, request_id),
            photos_query(tenant, request_id),
        ];
        let mut rows = self.pool.read_all(queries).await?.into_iter();
        let (events, photos) = (
            rows.next().unwrap_or_default(),
            rows.next().unwrap_or_default(),
        );
        Ok((
            events
                .iter()
                .map(event_from_row)
                .collect::<Result<_, _>>()?,
            photos
                .iter()
                .map(photo_from_row)
                .collect::<Result<_, _>>()?,
        ))
    }

    pub async fn insert_request_photo(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        p: &RequestPhoto,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO request_photos (tenant, id, request_id, part, file_name, media_type, \
             size, sha256, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.as_str())
        .bind(&p.id)
        .bind(&p.request_id)
        .bind(&p.part)
        .bind(&p.file_name)
        .bind(&p.media_type)
        .bind(p.size)
        .bind(&p.sha256)
        .bind(&p.uploaded_by)
        .bind(p.uploaded_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn request_photos(
        &self,
        tenant: &Tenant,
        request_id: &str,
    ) -> Result<Vec<RequestPhoto>, StoreError> {
        let rows = photos_query(tenant, request_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(photo_from_row).collect()
    }

    pub async fn insert_routing_example(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        e: &RoutingExample,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO routing_history (tenant, id, text, township_code, unit_code, accepted, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(&e.id)
        .bind(&e.text)
        .bind(&e.township_code)
        .bind(&e.unit_code)
        .bind(i64::from(e.accepted))
        .bind(e.at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Everything routing has learned from, oldest first.
    pub async fn routing_history(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<RoutingExample>, StoreError> {
        let rows = db::query(
            "SELECT id, text, township_code, unit_code, accepted, at FROM routing_history \
             WHERE tenant = $1 ORDER BY at, id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoutingExample {
                    id: r.try_get("id")?,
                    text: r.try_get("text")?,
                    township_code: r.try_get("township_code")?,
                    unit_code: r.try_get("unit_code")?,
                    accepted: r.try_get::<i64, _>("accepted")? != 0,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// How many dispatches routing has learned from (to know when to retrain).
    pub async fn routing_history_len(&self, tenant: &Tenant) -> Result<i64, StoreError> {
        db::query("SELECT COUNT(*) AS n FROM routing_history WHERE tenant = $1")
            .bind(tenant.as_str())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }

    pub async fn routing_rules(&self, tenant: &Tenant) -> Result<Vec<RoutingRule>, StoreError> {
        let rows = db::query(
            "SELECT id, keyword, unit_code, created_by, created_at FROM routing_rules \
             WHERE tenant = $1 ORDER BY keyword, unit_code",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoutingRule {
                    id: r.try_get("id")?,
                    keyword: r.try_get("keyword")?,
                    unit_code: r.try_get("unit_code")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn insert_routing_rule(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        rule: &RoutingRule,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO routing_rules (tenant, id, keyword, unit_code, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_str())
        .bind(&rule.id)
        .bind(&rule.keyword)
        .bind(&rule.unit_code)
        .bind(&rule.created_by)
        .bind(rule.created_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_routing_rule(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        id: &str,
    ) -> Result<bool, StoreError> {
        let done = db::query("DELETE FROM routing_rules WHERE tenant = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(tx.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_api_key(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        k: &ApiKeyRecord,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO api_keys (tenant, id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.as_str())
        .bind(&k.id)
        .bind(&k.name)
        .bind(&k.key_hash)
        .bind(k.created_at)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// A live key by its hash.
    pub async fn api_key_by_hash(
        &self,
        tenant: &Tenant,
        key_hash: &str,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = db::query(
            "SELECT id, name, key_hash, created_at, revoked_at FROM api_keys \
             WHERE tenant = $1 AND key_hash = $2 AND revoked_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ApiKeyRecord {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                key_hash: r.try_get("key_hash")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .transpose()
    }

    /// Revokes every live key named `name`; returns how many.
    pub async fn revoke_api_keys(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        name: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let done = db::query(
            "UPDATE api_keys SET revoked_at = $3 WHERE tenant = $1 AND name = $2 \
             AND revoked_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(name)
        .bind(now_ms)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected())
    }
}

/// The encrypted contact fields of one request, as key rotation sees them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestContact {
    pub tenant: String,
    pub id: String,
    pub name_enc: Option<String>,
    pub phone_enc: Option<String>,
}

impl Store {
    /// Requests with contact fields (every tenant), in id order after `after_id`.
    pub async fn request_contacts_page(
        &self,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<RequestContact>, StoreError> {
        let rows = db::query(
            "SELECT tenant, id, contact_name_enc, contact_phone_enc FROM requests \
             WHERE id > $1 AND (contact_name_enc IS NOT NULL OR contact_phone_enc IS NOT NULL) \
             ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RequestContact {
                    tenant: r.try_get("tenant")?,
                    id: r.try_get("id")?,
                    name_enc: r.try_get("contact_name_enc")?,
                    phone_enc: r.try_get("contact_phone_enc")?,
                })
            })
            .collect()
    }

    /// Replaces a request's contact ciphertexts if they are still `old`.
    pub async fn replace_request_contact(
        &self,
        tx: &mut Tx,
        old: &RequestContact,
        new: &RequestContact,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE requests SET contact_name_enc = $3, contact_phone_enc = $4 \
             WHERE tenant = $1 AND id = $2 AND COALESCE(contact_name_enc, '') = $5 \
             AND COALESCE(contact_phone_enc, '') = $6",
        )
        .bind(&old.tenant)
        .bind(&old.id)
        .bind(&new.name_enc)
        .bind(&new.phone_enc)
        .bind(old.name_enc.as_deref().unwrap_or(""))
        .bind(old.phone_enc.as_deref().unwrap_or(""))
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Every request filed at or after `since_ms` (for indicators: a county's month is a few
    /// thousand rows).
    pub async fn requests_since(
        &self,
        tenant: &Tenant,
        since_ms: i64,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let rows = db::query(format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE tenant = $1 AND created_at >= $2 \
             ORDER BY created_at"
        ))
        .bind(tenant.as_str())
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(request_from_row).collect()
    }
}
