//! Requests and complaints (诉求): filing from the app, the hotline, the JSON API and Open311;
//! routing suggestions and dispatch; the loop of signing, returning, contact, extension, reply,
//! closing, rating and reopening, each on its deadline; the queues of the dispatch centre and of
//! units. Every change writes the request, its timeline, its audit entry and its notifications
//! in one transaction, and every dispatch outcome is kept for routing to learn from.

use std::sync::{Arc, LazyLock, RwLock};

use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Deserialize;
use tongban_domain::reference::CaseRef;
use tongban_domain::request::lifecycle::{
    Extension, MAX_PHOTOS_PER_PART, MAX_TEXT_CHARS, Party, PhotoPart, RequestAction, RequestError,
    RequestStage, RequestState, apply, photo_part,
};
use tongban_domain::request::limits::{Deadlines, TimeLimits, WorkingHours};
use tongban_domain::request::{RequestKind, Urgency};
use tongban_domain::{DivisionLevel, Role};
use tongban_search::routing::{Dispatch, KeywordRule, Router, Suggestion, UnitProfile};
use tongban_store::{
    OutboxRecord, RequestEvent, RequestQuery, RequestRecord, RoutingExample, Tx, UserKind,
};

use crate::identity::Principal;
use crate::signin::PHONE;
use crate::vault::{free_reference, ordered_id, random_bytes, random_id};
use crate::{AppError, Refusal, RefusalKind};

const BEIJING_MS: i64 = 8 * 3_600_000;
/// The vault's field name for a caller's name.
pub const CONTACT_NAME: &str = "contact_name";

/// The county's extent, with a margin: points outside are refused as not in the county.
/// (Qinghe lies within about 36.95–37.25 N, 115.45–115.85 E.)
pub const COUNTY_BOX: ((f64, f64), (f64, f64)) = ((36.90, 115.40), (37.30, 115.95));

/// One category of requests.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Category {
    pub code: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub zh: String,
    pub en: String,
}

#[derive(Deserialize)]
struct CategoryFile {
    category: Vec<Category>,
}

static CATEGORIES: LazyLock<Vec<Category>> = LazyLock::new(|| {
    toml::from_str::<CategoryFile>(include_str!("../reference/request_categories.toml"))
        .map(|f| f.category)
        .unwrap_or_default()
});

/// The category tree, parents before their children.
pub fn categories() -> &'static [Category] {
    &CATEGORIES
}

/// How the county runs the loop: its limits, office hours, and whether routing may dispatch
/// alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestPolicy {
    pub limits: TimeLimits,
    pub hours: WorkingHours,
    /// Dispatch without a dispatcher when the best suggestion's confidence is at least this.
    pub auto_dispatch_at: Option<f64>,
}

/// A request as filed, before checking.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub kind: String,
    pub category: String,
    pub urgent: bool,
    pub text: String,
    pub township: String,
    pub village: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: String,
    pub anonymous: bool,
    pub disclose: bool,
    /// A caller's (hotline) or client user's (Open311) name and phone number.
    pub contact_name: String,
    pub contact_phone: String,
    pub service_code: Option<String>,
    /// Photos (file name, bytes): at most [`MAX_PHOTOS`], JPEG or PNG.
    pub photos: Vec<(String, Vec<u8>)>,
}

/// The most photos a request carries.
pub const MAX_PHOTOS: usize = MAX_PHOTOS_PER_PART;

/// Checks photos by their bytes (JPEG or PNG, within the upload limit), at most `room` of them.
fn checked_photos(
    photos: &[(String, Vec<u8>)],
    room: usize,
) -> Result<Vec<(String, tongban_domain::upload::FileKind, Vec<u8>)>, AppError> {
    if photos.len() > room {
        return Err(
            Refusal::new(RefusalKind::Invalid, "request_too_many_photos")
                .on("photo")
                .with("max", MAX_PHOTOS_PER_PART)
                .into(),
        );
    }
    let mut out = Vec::with_capacity(photos.len());
    for (name, bytes) in photos {
        let kind = tongban_domain::upload::check_upload(name, bytes).map_err(|e| {
            let mut r = Refusal::new(RefusalKind::Invalid, e.code()).on("photo");
            if let tongban_domain::upload::UploadError::TooLarge { max } = e {
                r = r.with("mb", max / 1024 / 1024);
            }
            AppError::from(r)
        })?;
        if !matches!(
            kind,
            tongban_domain::upload::FileKind::Jpeg | tongban_domain::upload::FileKind::Png
        ) {
            return Err(AppError::rejected("request_photo_not_image", "photo"));
        }
        out.push((name.clone(), kind, bytes.clone()));
    }
    Ok(out)
}

/// How a request reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    App,
    Hotline,
    Api,
    Open311,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Hotline => "hotline",
            Self::Api => "api",
            Self::Open311 => "open311",
        }
    }
}

/// The trained router and what it was trained on, to know when to retrain.
#[derive(Default)]
pub struct RouterCache(RwLock<Option<(i64, usize, Arc<Router>)>>);

fn beijing(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms + BEIJING_MS)
        .unwrap_or_default()
        .naive_utc()
}

fn utc_ms(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp_millis() - BEIJING_MS
}

fn state_of(r: &RequestRecord) -> Result<RequestState, AppError> {
    serde_json::from_str(&r.state)
        .map_err(|e| AppError::Internal(format!("request {} state: {e}", r.id)))
}

fn refusal_of(e: &RequestError) -> AppError {
    let kind = match e {
        RequestError::NotYours(_) => RefusalKind::Forbidden,
        RequestError::WrongStage { .. }
        | RequestError::ExtensionUsed
        | RequestError::NoExtensionAsked
        | RequestError::AlreadyRated
        | RequestError::AlreadyReopened => RefusalKind::Conflict,
        _ => RefusalKind::Invalid,
    };
    let mut r = Refusal::new(kind, e.code());
    r = match e {
        RequestError::TextMissing(f) | RequestError::TextTooLong(f) => {
            r.on(f).with("max", MAX_TEXT_CHARS)
        }
        RequestError::ExtensionDays(max) => r.on("days").with("max", max),
        RequestError::RatingRange => r.on("score"),
        RequestError::ReopenTooLate(days) => r.with("days", days),
        RequestError::ContactFirst => r.on("text"),
        _ => r,
    };
    r.into()
}

impl crate::App {
    /// Checks and files a request; returns it as stored. Residents file for themselves
    /// (`App`/`Api`); the hotline's dispatchers for a caller (`Hotline`); Open311 clients for
    /// their users (`Open311`, no principal).
    pub async fn file_request(
        &self,
        p: Option<&Principal>,
        channel: Channel,
        new: &NewRequest,
    ) -> Result<RequestRecord, AppError> {
        let requester = match (channel, p) {
            (Channel::Hotline, Some(p)) if p.actor.has(Role::Dispatcher) => None,
            (Channel::Hotline, _) => return Err(AppError::forbidden()),
            (Channel::Open311, _) => None,
            (_, Some(p)) if !p.actor.is_staff() => Some(p.user_id().to_owned()),
            (_, Some(_)) => return Err(AppError::forbidden()),
            (_, None) => return Err(AppError::unauthenticated("sign_in_needed")),
        };
        let kind = RequestKind::parse(&new.kind)
            .ok_or_else(|| AppError::rejected("request_kind_unknown", "kind"))?;
        if !categories().iter().any(|c| c.code == new.category.trim()) {
            return Err(AppError::rejected("request_category_unknown", "category"));
        }
        let text = tongban_domain::text::clean_block(&new.text, usize::MAX);
        if text.trim().is_empty() {
            return Err(AppError::rejected("request_text_missing", "text"));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(Refusal::new(RefusalKind::Invalid, "request_text_too_long")
                .on("text")
                .with("max", MAX_TEXT_CHARS)
                .into());
        }
        let (township, village) = self.place_of(&new.township, &new.village).await?;
        let point = match (new.lat, new.lon) {
            (Some(lat), Some(lon)) => {
                let ((s, w), (n, e)) = COUNTY_BOX;
                if !(s..=n).contains(&lat) || !(w..=e).contains(&lon) {
                    return Err(AppError::rejected("request_point_outside", "lat"));
                }
                Some((lat, lon))
            }
            (None, None) => None,
            _ => return Err(AppError::rejected("request_point_incomplete", "lat")),
        };
        let address = tongban_domain::text::clean_line(&new.address, 200);
        if township.is_none()
            && point.is_none()
            && address.is_empty()
            && kind != RequestKind::Consultation
        {
            return Err(AppError::rejected("request_place_missing", "township"));
        }
        let contact_phone = if new.contact_phone.trim().is_empty() {
            None
        } else {
            let phone = tongban_domain::PhoneNumber::parse(&new.contact_phone)
                .map_err(|e| AppError::rejected(e.code(), "contact_phone"))?;
            Some(self.identity.vault.encrypt(PHONE, phone.as_str())?)
        };
        let contact_name = tongban_domain::text::clean_line(&new.contact_name, 40);
        let contact_name = if contact_name.is_empty() {
            None
        } else {
            Some(self.identity.vault.encrypt(CONTACT_NAME, &contact_name)?)
        };

        let photos = checked_photos(&new.photos, MAX_PHOTOS)?;

        let reference = free_reference(|r| async move {
            Ok(self
                .store
                .request_by_reference(&self.tenant, r.as_str())
                .await?
                .is_some())
        })
        .await?;
        let now = self.now_ms();
        let state = RequestState::new(kind, requester.clone());
        let r = RequestRecord {
            id: ordered_id("q"),
            reference: reference.as_str().to_owned(),
            kind: kind.as_str().into(),
            category: new.category.trim().to_owned(),
            urgency: if new.urgent {
                Urgency::Urgent
            } else {
                Urgency::Normal
            }
            .as_str()
            .into(),
            text,
            township_code: township,
            village_code: village,
            lat: point.map(|p| p.0),
            lon: point.map(|p| p.1),
            address: Some(address).filter(|a| !a.is_empty()),
            anonymous: new.anonymous,
            disclose: new.disclose,
            channel: channel.as_str().into(),
            requester_id: requester,
            contact_name_enc: contact_name,
            contact_phone_enc: contact_phone,
            service_code: new.service_code.clone(),
            stage: RequestStage::Filed.as_str().into(),
            state: serde_json::to_string(&state).unwrap_or_default(),
            version: 1,
            created_at: now,
            updated_at: now,
            ..RequestRecord::default()
        };
        let actor_id = p.map_or_else(
            || format!("open311:{}", channel.as_str()),
            |p| p.user_id().to_owned(),
        );
        // The bytes go first: a failure after leaves an unreferenced file, never a request
        // naming a photo that is not there.
        let mut photo_rows = Vec::new();
        for (name, kind, bytes) in photos {
            photo_rows.push(
                self.store_photo(&r.id, "request", &name, kind, bytes, &actor_id)
                    .await?,
            );
        }
        let notices = self
            .request_notices(&r, "request_filed", true, true)
            .await?;
        let mut tx = self.store.begin().await?;
        self.store.insert_request(&mut tx, &self.tenant, &r).await?;
        for photo in &photo_rows {
            self.store
                .insert_request_photo(&mut tx, &self.tenant, photo)
                .await?;
        }
        let detail =
            serde_json::json!({ "reference": reference.to_string(), "channel": channel.as_str() });
        self.record_request_change(&mut tx, &actor_id, None, &r, "file", None, &detail)
            .await?;
        self.write_request_notices(&mut tx, &r, &notices).await?;
        tx.commit().await?;

        if let Some(threshold) = self.request_policy.auto_dispatch_at
            && let Some(best) = self.suggest_for(&r, 1).await?.into_iter().next()
            && best.score >= threshold
        {
            let action = RequestAction::Dispatch {
                unit: best.unit.clone(),
            };
            return self
                .change_request(r, None, "system", None, Party::System, &action, Vec::new())
                .await;
        }
        Ok(r)
    }

    /// Stores a photo's bytes and thumbnail by content; returns its row, to be written with
    /// the change it belongs to.
    async fn store_photo(
        &self,
        request_id: &str,
        part: &str,
        name: &str,
        kind: tongban_domain::upload::FileKind,
        bytes: Vec<u8>,
        by: &str,
    ) -> Result<tongban_store::RequestPhoto, AppError> {
        let size = bytes.len() as i64;
        let sha256 = self.put_content(bytes, kind).await?;
        Ok(tongban_store::RequestPhoto {
            id: ordered_id("p"),
            request_id: request_id.to_owned(),
            part: part.to_owned(),
            file_name: crate::materials::stored_file_name(name, kind),
            media_type: kind.media_type().to_owned(),
            size,
            sha256,
            uploaded_by: by.to_owned(),
            uploaded_at: self.now_ms(),
        })
    }

    /// A request's photos, for those who may see it.
    pub async fn request_photos(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<Vec<tongban_store::RequestPhoto>, AppError> {
        let r = self.visible_request(p, id).await?;
        Ok(self.store.request_photos(&self.tenant, &r.id).await?)
    }

    /// A photo's thumbnail (or, with `full`, its bytes), for those who may see the request.
    pub async fn request_photo_bytes(
        &self,
        p: &Principal,
        id: &str,
        photo_id: &str,
        full: bool,
    ) -> Result<(tongban_store::RequestPhoto, Vec<u8>), AppError> {
        let photo = self
            .request_photos(p, id)
            .await?
            .into_iter()
            .find(|x| x.id == photo_id)
            .ok_or_else(|| AppError::hidden("file_not_found"))?;
        let path = if full {
            crate::materials::blob_path(&photo.sha256)
        } else {
            crate::materials::thumb_path(&photo.sha256)
        };
        let bytes = self.read_blob(&path).await?;
        Ok((photo, bytes))
    }

    /// The township and village codes of a place as given: both known, the village in the
    /// township (a village alone implies its township).
    async fn place_of(
        &self,
        township: &str,
        village: &str,
    ) -> Result<(Option<String>, Option<String>), AppError> {
        let snapshot = self.catalog().await?;
        let (township, village) = (township.trim(), village.trim());
        let village = if village.is_empty() {
            None
        } else {
            match snapshot.division(village) {
                Some(d) if d.level == DivisionLevel::Village => Some(d.clone()),
                _ => return Err(AppError::rejected("request_place_unknown", "village")),
            }
        };
        let township = if township.is_empty() {
            village
                .as_ref()
                .and_then(|v| v.parent.as_ref())
                .map(ToString::to_string)
        } else {
            match snapshot.division(township) {
                Some(d) if d.level == DivisionLevel::Township => Some(d.code.to_string()),
                _ => return Err(AppError::rejected("request_place_unknown", "township")),
            }
        };
        if let (Some(t), Some(v)) = (&township, &village)
            && v.parent.as_ref().map(ToString::to_string).as_deref() != Some(t.as_str())
        {
            return Err(AppError::rejected("request_village_elsewhere", "village"));
        }
        Ok((township, village.map(|v| v.code.to_string())))
    }

    /// The router, retrained when dispatches or rules changed since it was trained.
    async fn router(&self) -> Result<Arc<Router>, AppError> {
        let history_len = self.store.routing_history_len(&self.tenant).await?;
        let rules = self.store.routing_rules(&self.tenant).await?;
        let rules_key = rules
            .iter()
            .map(|r| r.id.len() + r.keyword.len())
            .sum::<usize>()
            .wrapping_add(rules.len() << 16);
        if let Ok(guard) = self.routers.0.read()
            && let Some((n, k, router)) = guard.as_ref()
            && *n == history_len
            && *k == rules_key
        {
            return Ok(Arc::clone(router));
        }
        let snapshot = self.catalog().await?;
        let units: Vec<UnitProfile> = snapshot
            .units
            .iter()
            .filter(|u| u.code.as_str() != "130534-12345")
            .map(|u| UnitProfile {
                code: u.code.to_string(),
                name: u.name_zh.clone(),
                duties: u.duties_zh.clone(),
                township: u.kind == tongban_domain::UnitKind::Township,
            })
            .collect();
        let history: Vec<Dispatch> = self
            .store
            .routing_history(&self.tenant)
            .await?
            .into_iter()
            .map(|e| Dispatch {
                text: e.text,
                township: e.township_code,
                unit: e.unit_code,
                accepted: e.accepted,
            })
            .collect();
        let rules: Vec<KeywordRule> = rules
            .into_iter()
            .map(|r| KeywordRule {
                keyword: r.keyword,
                unit: r.unit_code,
            })
            .collect();
        let router = Arc::new(
            tokio::task::spawn_blocking(move || Router::train(&units, &history, &rules))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?,
        );
        if let Ok(mut guard) = self.routers.0.write() {
            *guard = Some((history_len, rules_key, Arc::clone(&router)));
        }
        Ok(router)
    }

    async fn suggest_for(&self, r: &RequestRecord, n: usize) -> Result<Vec<Suggestion>, AppError> {
        let router = self.router().await?;
        Ok(router.suggest(&r.text, r.township_code.as_deref(), n))
    }

    /// Routing suggestions for a request (dispatchers): the top three units with a score and a
    /// reason.
    pub async fn routing_suggestions(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<Vec<Suggestion>, AppError> {
        let r = self.dispatcher_request(p, id).await?;
        self.routing_suggestions_for(p, &r).await
    }

    /// A request read for the dispatch centre, which may see any; others are refused.
    async fn dispatcher_request(&self, p: &Principal, id: &str) -> Result<RequestRecord, AppError> {
        if !p.actor.has(Role::Dispatcher) {
            return Err(AppError::forbidden());
        }
        self.store
            .request(&self.tenant, id)
            .await?
            .ok_or_else(|| AppError::hidden("request_not_found"))
    }

    /// Routing suggestions for a request already read (dispatchers).
    pub async fn routing_suggestions_for(
        &self,
        p: &Principal,
        r: &RequestRecord,
    ) -> Result<Vec<Suggestion>, AppError> {
        if !p.actor.has(Role::Dispatcher) {
            return Err(AppError::forbidden());
        }
        self.suggest_for(r, 3).await
    }

    /// Suggestions for text that is not a stored request (`tongban route-eval`).
    pub async fn suggest_units(
        &self,
        text: &str,
        township: Option<&str>,
        n: usize,
    ) -> Result<Vec<Suggestion>, AppError> {
        Ok(self.router().await?.suggest(text, township, n))
    }

    /// Earlier requests this one probably repeats (similar text near the same place within a
    /// week), most similar first: offered to the dispatcher for merging.
    pub async fn possible_duplicates(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<Vec<(RequestRecord, f64)>, AppError> {
        let r = self.dispatcher_request(p, id).await?;
        self.possible_duplicates_of(p, &r).await
    }

    /// Earlier requests that a request already read probably repeats (dispatchers).
    pub async fn possible_duplicates_of(
        &self,
        p: &Principal,
        r: &RequestRecord,
    ) -> Result<Vec<(RequestRecord, f64)>, AppError> {
        use tongban_domain::request::similar::{
            DUPLICATE_WINDOW_DAYS, Sighting, likely_duplicates,
        };
        if !p.actor.has(Role::Dispatcher) {
            return Err(AppError::forbidden());
        }
        let Some(township) = r.township_code.clone() else {
            return Ok(Vec::new());
        };
        let q = RequestQuery {
            township_code: Some(township),
            created_from: Some(r.created_at - DUPLICATE_WINDOW_DAYS * 86_400_000),
            created_to: Some(r.created_at),
            newest_first: true,
            limit: 500,
            ..RequestQuery::default()
        };
        let earlier: Vec<RequestRecord> = self
            .store
            .requests(&self.tenant, &q)
            .await?
            .into_iter()
            .filter(|e| e.id != r.id && e.stage != "merged")
            .collect();
        fn sighting(x: &RequestRecord) -> Sighting<'_> {
            Sighting {
                id: &x.id,
                text: &x.text,
                township: x.township_code.as_deref(),
                village: x.village_code.as_deref(),
                point: x.lat.zip(x.lon),
                filed_at: DateTime::<Utc>::from_timestamp_millis(x.created_at).unwrap_or_default(),
            }
        }
        let sightings: Vec<Sighting<'_>> = earlier.iter().map(sighting).collect();
        let found = likely_duplicates(&sighting(r), &sightings);
        Ok(found
            .into_iter()
            .filter_map(|(id, score)| {
                earlier
                    .iter()
                    .find(|e| e.id == id)
                    .map(|e| (e.clone(), score))
            })
            .collect())
    }

    /// Adds past dispatches for routing to learn from (the demo's labelled requests).
    pub async fn learn_routing(&self, examples: &[RoutingExample]) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        for e in examples {
            self.store
                .insert_routing_example(&mut tx, &self.tenant, e)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Who `p` is to a request.
    fn party<'a>(&self, p: &'a Principal, r: &RequestRecord) -> Party<'a> {
        let actor = &p.actor;
        if r.requester_id.as_deref() == Some(actor.user_id.as_str()) {
            Party::Requester(&actor.user_id)
        } else if actor.has(Role::Dispatcher) {
            Party::Dispatcher
        } else if actor.has(Role::Supervisor) {
            Party::Supervisor
        } else if actor.is_staff()
            && let Some(unit) = &actor.unit
        {
            Party::Unit(unit.as_str())
        } else {
            Party::Requester(&actor.user_id)
        }
    }

    /// Whether `p` may see a request: its requester, the dispatch centre, supervisors and
    /// administrators, and the unit it is with.
    pub(crate) fn may_see_request(p: &Principal, r: &RequestRecord) -> bool {
        let a = &p.actor;
        r.requester_id.as_deref() == Some(a.user_id.as_str())
            || a.has(Role::Dispatcher)
            || a.has(Role::Supervisor)
            || a.has(Role::Administrator)
            || (a.is_staff()
                && a.unit.as_ref().map(|u| u.as_str()) == r.unit_code.as_deref()
                && r.unit_code.is_some())
    }

    /// A request `p` may see; anything else is "not found".
    pub async fn visible_request(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<RequestRecord, AppError> {
        let r = self
            .store
            .request(&self.tenant, id)
            .await?
            .ok_or_else(|| AppError::hidden("request_not_found"))?;
        if !Self::may_see_request(p, &r) {
            return Err(AppError::hidden("request_not_found"));
        }
        Ok(r)
    }

    /// Does `action` to request `id` on behalf of `p` (`version`: the version they saw).
    pub async fn act_on_request(
        &self,
        p: &Principal,
        id: &str,
        version: Option<i64>,
        action: &RequestAction,
    ) -> Result<RequestRecord, AppError> {
        self.act_with_photos(p, id, version, action, &[]).await
    }

    /// Does `action` with photos belonging to it (a unit's reply with pictures of the work):
    /// the photos are checked first, and land with the change or not at all.
    pub async fn act_with_photos(
        &self,
        p: &Principal,
        id: &str,
        version: Option<i64>,
        action: &RequestAction,
        photos: &[(String, Vec<u8>)],
    ) -> Result<RequestRecord, AppError> {
        let r = self.visible_request(p, id).await?;
        let unit = p.actor.unit.as_ref().map(ToString::to_string);
        let party = self.party(p, &r);
        let rows = if photos.is_empty() {
            Vec::new()
        } else {
            if !matches!(action, RequestAction::Reply { .. }) {
                return Err(AppError::rejected("request_photo_not_here", "photo"));
            }
            // The reply is checked for its stage and party by the change itself; here only
            // that the photos are pictures and fit.
            self.photo_rows(p, &r, PhotoPart::Reply, photos).await?
        };
        self.change_request(r.clone(), version, p.user_id(), unit, party, action, rows)
            .await
    }

    /// Adds photos after filing: the resident's own while the request is open, the unit's
    /// while it works on it. Each addition is in the timeline; if one photo is refused, none
    /// is added.
    pub async fn add_request_photos(
        &self,
        p: &Principal,
        id: &str,
        photos: &[(String, Vec<u8>)],
    ) -> Result<RequestRecord, AppError> {
        let mut r = self.visible_request(p, id).await?;
        let before = state_of(&r)?;
        let part = photo_part(&before, self.party(p, &r)).map_err(|e| refusal_of(&e))?;
        if photos.is_empty() {
            return Err(AppError::rejected("request_photo_missing", "photo"));
        }
        let rows = self.photo_rows(p, &r, part, photos).await?;
        let now = self.now_ms();
        r.version += 1;
        r.updated_at = now.max(r.updated_at + 1);
        let unit = p.actor.unit.as_ref().map(ToString::to_string);
        let detail = serde_json::json!({ "part": part.as_str(), "photos": rows.len() });
        let mut tx = self.store.begin().await?;
        if !self.store.update_request(&mut tx, &self.tenant, &r).await? {
            return Err(Refusal::new(RefusalKind::Conflict, "request_changed").into());
        }
        for row in &rows {
            self.store
                .insert_request_photo(&mut tx, &self.tenant, row)
                .await?;
        }
        self.record_request_change(
            &mut tx,
            p.user_id(),
            unit.as_deref(),
            &r,
            "add_photos",
            Some(before.stage),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Checks `photos` against what the request already has of `part`, and stores their
    /// bytes (by content, so a failure later leaves only an unreferenced file).
    async fn photo_rows(
        &self,
        p: &Principal,
        r: &RequestRecord,
        part: PhotoPart,
        photos: &[(String, Vec<u8>)],
    ) -> Result<Vec<tongban_store::RequestPhoto>, AppError> {
        let have = self
            .store
            .request_photos(&self.tenant, &r.id)
            .await?
            .iter()
            .filter(|x| x.part == part.as_str())
            .count();
        let checked = checked_photos(photos, MAX_PHOTOS_PER_PART.saturating_sub(have))?;
        let mut rows = Vec::with_capacity(checked.len());
        for (name, kind, bytes) in checked {
            rows.push(
                self.store_photo(&r.id, part.as_str(), &name, kind, bytes, p.user_id())
                    .await?,
            );
        }
        Ok(rows)
    }

    /// Changes `r` as it was read; should it have changed since, the update finds a newer
    /// version and refuses.
    #[allow(clippy::too_many_arguments)]
    async fn change_request(
        &self,
        mut r: RequestRecord,
        version: Option<i64>,
        actor_id: &str,
        actor_unit: Option<String>,
        party: Party<'_>,
        action: &RequestAction,
        photos: Vec<tongban_store::RequestPhoto>,
    ) -> Result<RequestRecord, AppError> {
        if let Some(v) = version
            && v != r.version
        {
            return Err(Refusal::new(RefusalKind::Conflict, "request_changed").into());
        }
        if let RequestAction::Dispatch { unit } = action {
            let snapshot = self.catalog().await?;
            if snapshot.unit(unit.trim()).is_none() {
                return Err(AppError::rejected("unit_unknown", "unit"));
            }
        }
        if let RequestAction::Merge { into } = action
            && self.store.request(&self.tenant, into).await?.is_none()
        {
            return Err(AppError::rejected("request_not_found", "into"));
        }
        let before = state_of(&r)?;
        let from = before.stage;
        let now = self.now_ms();
        let now_utc = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
        let after = apply(
            &before,
            &r.id,
            party,
            action,
            now_utc,
            &self.request_policy.limits,
        )
        .map_err(|e| refusal_of(&e))?;

        let kind = RequestKind::parse(&r.kind).unwrap_or(RequestKind::Complaint);
        let urgency = Urgency::parse(&r.urgency).unwrap_or_default();
        let snapshot = self.catalog().await?;
        let cal = &snapshot.calendar;
        let hours = &self.request_policy.hours;
        let calendar_error = |e: tongban_domain::CalendarError| AppError::Internal(e.to_string());
        let mut routing_outcome: Option<bool> = None;
        match action {
            RequestAction::Dispatch { unit } => {
                let due: Deadlines = self
                    .request_policy
                    .limits
                    .deadlines(cal, hours, kind, urgency, beijing(now))
                    .map_err(calendar_error)?;
                r.unit_code = Some(unit.trim().to_owned());
                r.dispatched_at = Some(now);
                r.sign_by = Some(utc_ms(due.sign_by));
                r.contact_by = Some(utc_ms(due.contact_by));
                r.resolve_by = Some(utc_ms(due.resolve_by));
            }
            RequestAction::Return { .. } => {
                routing_outcome = Some(false);
                r.unit_code = None;
                r.sign_by = None;
                r.contact_by = None;
                r.resolve_by = None;
            }
            RequestAction::Sign => {
                routing_outcome = Some(true);
                // The sign-by deadline stays: whether it was met is the first of the rates.
                r.signed_at = Some(now);
            }
            RequestAction::Contact { .. } => r.contact_by = None,
            RequestAction::GrantExtension => {
                if let (Extension::Granted { days }, Some(due)) = (after.extension, r.resolve_by) {
                    let later = cal
                        .add_working_days(beijing(due).date(), days)
                        .map_err(calendar_error)?;
                    r.resolve_by = Some(utc_ms(later.and_time(hours.closing())));
                }
            }
            RequestAction::Reply { text } => {
                r.replied_at = Some(now);
                r.reply_text = Some(tongban_domain::text::clean_block(text, MAX_TEXT_CHARS));
            }
            RequestAction::Close => {
                r.closed_at = Some(now);
                r.rating = None;
            }
            RequestAction::Rate { score, .. } => r.rating = Some(i64::from(*score)),
            RequestAction::Reopen { .. } => {
                let due = self
                    .request_policy
                    .limits
                    .deadlines(cal, hours, kind, urgency, beijing(now))
                    .map_err(calendar_error)?;
                r.closed_at = None;
                r.rating = None;
                r.replied_at = None;
                r.contact_by = Some(utc_ms(due.contact_by));
                r.resolve_by = Some(utc_ms(due.resolve_by));
            }
            RequestAction::Merge { into } => r.merged_into = Some(into.clone()),
            _ => {}
        }
        r.stage = after.stage.as_str().into();
        r.state = serde_json::to_string(&after).unwrap_or_default();
        r.version += 1;
        r.updated_at = now.max(r.updated_at + 1);

        let (event, to_requester, to_unit) = match action {
            RequestAction::Dispatch { .. } => ("request_dispatched", true, true),
            RequestAction::Return { .. } => ("request_returned", false, false),
            RequestAction::Sign => ("request_signed", true, false),
            RequestAction::AskExtension { .. } => ("request_extension_asked", false, false),
            RequestAction::GrantExtension => ("request_extension_granted", false, true),
            RequestAction::RefuseExtension { .. } => ("request_extension_refused", false, true),
            RequestAction::Reply { .. } => ("request_replied", false, false),
            RequestAction::Close => ("request_closed", true, false),
            RequestAction::SendBack { .. } => ("request_sent_back", false, true),
            RequestAction::Reopen { .. } => ("request_reopened", false, true),
            RequestAction::Urge { .. } => ("request_urged", false, true),
            RequestAction::Rate { .. } => ("request_rated", false, true),
            RequestAction::Contact { .. } => ("request_contacted", false, false),
            RequestAction::Merge { .. } => ("request_merged", true, false),
        };
        let notices = self
            .request_notices(&r, event, to_requester, to_unit)
            .await?;
        let detail = serde_json::to_value(action).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        if !self.store.update_request(&mut tx, &self.tenant, &r).await? {
            return Err(Refusal::new(RefusalKind::Conflict, "request_changed").into());
        }
        for photo in &photos {
            self.store
                .insert_request_photo(&mut tx, &self.tenant, photo)
                .await?;
        }
        self.record_request_change(
            &mut tx,
            actor_id,
            actor_unit.as_deref(),
            &r,
            action.name(),
            Some(from),
            &detail,
        )
        .await?;
        if let (Some(accepted), Some(unit)) = (routing_outcome, before.unit.clone()) {
            // The dispatch's outcome teaches routing: signed for, or returned.
            let example = RoutingExample {
                id: ordered_id("x"),
                text: r.text.clone(),
                township_code: r.township_code.clone(),
                unit_code: unit,
                accepted,
                at: now,
            };
            self.store
                .insert_routing_example(&mut tx, &self.tenant, &example)
                .await?;
        }
        self.write_request_notices(&mut tx, &r, &notices).await?;
        tx.commit().await?;
        Ok(r)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_request_change(
        &self,
        tx: &mut Tx,
        actor_id: &str,
        actor_unit: Option<&str>,
        r: &RequestRecord,
        action: &str,
        from: Option<RequestStage>,
        detail: &serde_json::Value,
    ) -> Result<(), AppError> {
        let event = RequestEvent {
            subject_id: r.id.clone(),
            seq: 0,
            at: r.updated_at,
            actor_id: actor_id.to_owned(),
            actor_unit: actor_unit.map(str::to_owned),
            action: action.to_owned(),
            from_stage: from.map(|s| s.as_str().to_owned()),
            to_stage: r.stage.clone(),
            detail: detail.to_string(),
        };
        self.store
            .append_request_event(tx, &self.tenant, &event)
            .await?;
        let actor = tongban_domain::Actor {
            user_id: actor_id.to_owned(),
            roles: Vec::new(),
            unit: None,
            division: None,
            family: Vec::new(),
        };
        let entry = self.audit_entry(
            &actor,
            &format!("request.{action}"),
            &format!("request:{}", r.id),
            &r.reference,
        );
        self.store.append_audit(tx, &self.tenant, &entry).await?;
        Ok(())
    }

    /// Who is told about `event`: the requester in the app and by text (or the caller's number
    /// taken on the hotline), the unit (or, without one, the dispatch centre) in its inbox,
    /// and the integration webhook when configured.
    async fn request_notices(
        &self,
        r: &RequestRecord,
        event: &'static str,
        to_requester: bool,
        to_unit: bool,
    ) -> Result<Vec<(&'static str, &'static str, String)>, AppError> {
        let mut out = Vec::new();
        if to_requester {
            let mut phone = self.decrypt_opt(PHONE, r.contact_phone_enc.as_deref())?;
            if let Some(id) = &r.requester_id {
                out.push((event, "inbox", id.clone()));
                if let Some(u) = self.store.user(&self.tenant, id).await?
                    && u.kind == UserKind::Resident
                {
                    phone = phone.or(self.decrypt_opt(PHONE, u.phone_enc.as_deref())?);
                }
            }
            if let Some(phone) = phone {
                out.push((event, "sms", phone));
            }
        }
        if to_unit {
            let unit = r.unit_code.clone().unwrap_or_else(|| "130534-12345".into());
            out.push((event, "inbox", format!("unit:{unit}")));
        }
        if self.webhook.is_some() {
            out.push((event, "webhook", "integration".into()));
        }
        Ok(out)
    }

    async fn write_request_notices(
        &self,
        tx: &mut Tx,
        r: &RequestRecord,
        notices: &[(&'static str, &'static str, String)],
    ) -> Result<(), AppError> {
        let display =
            CaseRef::parse(&r.reference).map_or_else(|_| r.reference.clone(), |c| c.to_string());
        let payload = serde_json::json!({
            "reference": display,
            "item": RequestKind::parse(&r.kind).map(|k| k.name_zh()).unwrap_or_default(),
            "request": true,
        })
        .to_string();
        for (event, channel, recipient) in notices {
            let m = OutboxRecord {
                id: ordered_id("o"),
                event: (*event).to_owned(),
                channel: (*channel).to_owned(),
                recipient: recipient.clone(),
                request_id: Some(r.id.clone()),
                payload: payload.clone(),
                created_at: r.updated_at,
                next_attempt_at: self.now_ms(),
                ..OutboxRecord::default()
            };
            self.store.insert_outbox(tx, &self.tenant, &m).await?;
        }
        Ok(())
    }

    /// The dispatch centre's queue: new and returned requests, replies to check, extensions
    /// to decide; oldest first.
    pub async fn dispatch_queue(&self, p: &Principal) -> Result<Vec<RequestRecord>, AppError> {
        if !p.actor.has(Role::Dispatcher) {
            return Err(AppError::forbidden());
        }
        let q = RequestQuery {
            stages: vec!["filed".into(), "replied".into(), "in_hand".into()],
            limit: 500,
            ..RequestQuery::default()
        };
        let mut all = self.store.requests(&self.tenant, &q).await?;
        all.retain(|r| {
            r.stage != "in_hand"
                || state_of(r).is_ok_and(|s| matches!(s.extension, Extension::Asked { .. }))
        });
        all.sort_by_key(|r| r.created_at);
        Ok(all)
    }

    /// A unit's requests: to sign and in hand, most urgent first.
    pub async fn unit_requests(&self, p: &Principal) -> Result<Vec<RequestRecord>, AppError> {
        let Some(unit) = p.actor.unit.as_ref().filter(|_| p.actor.is_staff()) else {
            return Err(AppError::forbidden());
        };
        let q = RequestQuery {
            stages: vec!["dispatched".into(), "in_hand".into()],
            units: vec![unit.to_string()],
            limit: 500,
            ..RequestQuery::default()
        };
        Ok(self.store.requests(&self.tenant, &q).await?)
    }

    /// The resident's own requests, newest first.
    pub async fn my_requests(&self, p: &Principal) -> Result<Vec<RequestRecord>, AppError> {
        let q = RequestQuery {
            requester_id: Some(p.user_id().to_owned()),
            newest_first: true,
            limit: 200,
            ..RequestQuery::default()
        };
        Ok(self.store.requests(&self.tenant, &q).await?)
    }

    /// Requests for the public face (Open311): every request, to be shown with what it may
    /// publish (the caller decides: descriptions only with consent, always redacted).
    pub async fn public_requests(&self, q: &RequestQuery) -> Result<Vec<RequestRecord>, AppError> {
        Ok(self.store.requests(&self.tenant, q).await?)
    }

    /// How long a request took, for reports: from filing to `at`.
    pub fn request_age(r: &RequestRecord, at_ms: i64) -> Duration {
        Duration::milliseconds(at_ms - r.created_at)
    }
}

/// An Open311 API key as created: shown once, stored only as its hash.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: String,
    pub name: String,
    pub key: String,
}

fn key_hash(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.trim().as_bytes()))
}

impl crate::App {
    /// Issues an API key for an Open311 client named `name`.
    pub async fn create_api_key(&self, name: &str) -> Result<NewApiKey, AppError> {
        let name = tongban_domain::text::clean_line(name, 80);
        if name.is_empty() {
            return Err(AppError::rejected("api_key_name_missing", "name"));
        }
        let key = format!(
            "tb311_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<24>())
        );
        let record = tongban_store::ApiKeyRecord {
            id: random_id("k"),
            name: name.clone(),
            key_hash: key_hash(&key),
            created_at: self.now_ms(),
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .insert_api_key(&mut tx, &self.tenant, &record)
            .await?;
        let system = tongban_domain::Actor {
            user_id: crate::audit::SYSTEM.into(),
            roles: Vec::new(),
            unit: None,
            division: None,
            family: Vec::new(),
        };
        let entry = self.audit_entry(
            &system,
            "apikey.create",
            &format!("apikey:{}", record.id),
            &name,
        );
        self.store
            .append_audit(&mut tx, &self.tenant, &entry)
            .await?;
        tx.commit().await?;
        Ok(NewApiKey {
            id: record.id,
            name,
            key,
        })
    }

    /// Revokes the keys named `name_or_key` (a client's name, or one key itself); returns how
    /// many.
    pub async fn revoke_api_key(&self, name_or_key: &str) -> Result<u64, AppError> {
        let now = self.now_ms();
        let by_key = self
            .store
            .api_key_by_hash(&self.tenant, &key_hash(name_or_key))
            .await?;
        let name = by_key.map_or_else(|| name_or_key.trim().to_owned(), |k| k.name);
        let mut tx = self.store.begin().await?;
        let n = self
            .store
            .revoke_api_keys(&mut tx, &self.tenant, &name, now)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The client a live key belongs to, if it is one.
    pub async fn api_client(&self, key: &str) -> Result<Option<String>, AppError> {
        if key.trim().is_empty() {
            return Ok(None);
        }
        Ok(self
            .store
            .api_key_by_hash(&self.tenant, &key_hash(key))
            .await?
            .map(|k| k.name))
    }
}

/// A closed request as published: with the resident's consent, personal data masked.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedRequest {
    pub reference: String,
    pub kind: String,
    pub category: String,
    pub township_code: Option<String>,
    pub unit_code: Option<String>,
    pub filed_at: i64,
    pub closed_at: Option<i64>,
    pub text: String,
    pub reply: String,
    pub rating: Option<i64>,
}

/// How many published requests one page shows.
pub const PUBLISHED_PAGE: i64 = 20;

impl crate::App {
    /// Closed requests whose residents agreed to publication, newest first, optionally only
    /// those containing `words` or of one category; redacted. No sign-in needed.
    pub async fn published_requests(
        &self,
        words: &str,
        category: Option<&str>,
        page: i64,
    ) -> Result<(Vec<PublishedRequest>, i64), AppError> {
        use tongban_domain::request::redact::redact;
        let words = tongban_domain::text::clean_line(words, 50);
        let q = RequestQuery {
            disclosed_only: true,
            text_contains: Some(words).filter(|w| !w.is_empty()),
            category: category.filter(|c| !c.is_empty()).map(str::to_owned),
            newest_first: true,
            limit: PUBLISHED_PAGE,
            offset: (page.max(1) - 1) * PUBLISHED_PAGE,
            ..RequestQuery::default()
        };
        let total = self.store.count_requests(&self.tenant, &q).await?;
        let list = self
            .store
            .requests(&self.tenant, &q)
            .await?
            .into_iter()
            .map(|r| PublishedRequest {
                reference: CaseRef::parse(&r.reference)
                    .map_or_else(|_| r.reference.clone(), |c| c.to_string()),
                kind: r.kind,
                category: r.category,
                township_code: r.township_code,
                unit_code: r.unit_code,
                filed_at: r.created_at,
                closed_at: r.closed_at,
                text: redact(&r.text),
                reply: redact(r.reply_text.as_deref().unwrap_or_default()),
                rating: r.rating,
            })
            .collect();
        Ok((list, total))
    }
}
