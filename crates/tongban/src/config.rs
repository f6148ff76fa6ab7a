//! One typed configuration: defaults → `tongban.toml` → `TONGBAN_*` environment → command-line
//! flags, validated at start-up with a message for every bad value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tongban_domain::Tenant;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on.
    pub listen: String,
    /// Where the SQLite database, uploads and the search index live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://DATA_DIR/tongban.db`.
    pub database_url: String,
    /// The county this deployment serves (GB/T 2260 code).
    pub tenant: String,
    /// Database connections per process.
    pub max_connections: u32,
    /// Log filter, e.g. `info` or `tongban=debug,info`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Keys that encrypt personal numbers, `ID:BASE64` (32 bytes), the encrypting key first.
    /// Empty: keys are read from (or created in) `DATA_DIR/keys.toml`.
    pub data_keys: Vec<String>,
    /// The key of the searchable hashes of personal numbers (base64, 32 bytes).
    pub index_key: String,
    /// The SMS gateway (`http://…`); empty: messages go to the log only.
    pub sms_gateway_url: String,
    pub sms_gateway_token: String,
    /// An integration endpoint (`http://…`) told of every change to a case; empty: none.
    pub webhook_url: String,
    /// The shared secret webhook deliveries are signed with (HMAC-SHA256).
    pub webhook_secret: String,
    /// An SMTP relay (`smtp://[user:password@]host[:port]`) for e-mail notifications; empty:
    /// no e-mail.
    pub smtp_url: String,
    /// The sender of notification e-mail, e.g. `清河通办 <noreply@qinghe.gov.cn>`.
    pub mail_from: String,
    /// An S3-compatible store for uploaded files (`http://host:port`); empty: DATA_DIR/files.
    pub s3_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    pub s3_access_key_id: String,
    pub s3_secret_access_key: String,
    /// The request loop's time limits by kind and urgency (see `TimeLimits`), e.g.
    /// `[request_limits] sign_minutes = 120` and `resolve_days = { complaint = 5 }`.
    pub request_limits: tongban_domain::request::limits::TimeLimits,
    /// Office hours the request limits are counted in, e.g. `08:30-12:00,14:30-17:30`.
    pub working_hours: String,
    /// Dispatch without a dispatcher when routing's best suggestion is at least this sure
    /// (0–1); unset: a dispatcher always confirms.
    pub auto_dispatch_at: Option<f64>,
    /// Staff roles that must use an authenticator app. Unset: administrator and supervisor
    /// (none with `--demo`, so demo accounts sign in with a password alone).
    pub totp_roles: Option<Vec<String>>,
    /// Cookies marked Secure (HTTPS only; browsers treat localhost as secure).
    pub secure_cookies: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            tenant: "130534".into(),
            max_connections: 8,
            log: "info".into(),
            log_format: "text".into(),
            data_keys: Vec::new(),
            index_key: String::new(),
            sms_gateway_url: String::new(),
            sms_gateway_token: String::new(),
            webhook_url: String::new(),
            webhook_secret: String::new(),
            smtp_url: String::new(),
            mail_from: String::new(),
            s3_endpoint: String::new(),
            s3_bucket: String::new(),
            s3_region: String::new(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: String::new(),
            request_limits: tongban_domain::request::limits::TimeLimits::default(),
            working_hours: "08:30-12:00,14:30-17:30".into(),
            auto_dispatch_at: None,
            totp_roles: None,
            secure_cookies: true,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
        }
    }
}

/// The keys a `TONGBAN_*` environment variable may set.
const KEYS: [&str; 27] = [
    "listen",
    "data_dir",
    "database_url",
    "tenant",
    "max_connections",
    "log",
    "log_format",
    "data_keys",
    "index_key",
    "sms_gateway_url",
    "sms_gateway_token",
    "webhook_url",
    "webhook_secret",
    "smtp_url",
    "mail_from",
    "s3_endpoint",
    "s3_bucket",
    "s3_region",
    "s3_access_key_id",
    "s3_secret_access_key",
    "request_limits",
    "working_hours",
    "auto_dispatch_at",
    "totp_roles",
    "secure_cookies",
    "session_idle_minutes",
    "session_absolute_hours",
];

/// Values given on the command line; `None` leaves the layer below in force.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// A configuration that passed validation.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub tenant: Tenant,
    pub max_connections: u32,
    pub log: String,
    pub json_logs: bool,
    pub data_keys: Vec<String>,
    pub index_key: String,
    pub sms_gateway_url: String,
    pub sms_gateway_token: String,
    pub webhook: Option<tongban_app::webhook::Webhook>,
    pub mailer: Option<tongban_app::email::Mailer>,
    /// The S3-compatible store for uploaded files, if configured (else DATA_DIR/files).
    pub s3: Option<tongban_app::blobs::S3Settings>,
    pub request_policy: tongban_app::requests::RequestPolicy,
    pub totp_roles: Option<Vec<tongban_domain::Role>>,
    pub secure_cookies: bool,
    pub sessions: tongban_domain::signin::SessionPolicy,
}

impl Settings {
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }
}

pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Settings, String> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    match file {
        Some(path) if !path.exists() => {
            return Err(format!(
                "configuration file {} does not exist",
                path.display()
            ));
        }
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None => figment = figment.merge(Toml::file("tongban.toml")),
    }
    let config: Config = figment
        // Only our own keys: other TONGBAN_* variables (test settings, scripts) are not ours to reject.
        .merge(Env::prefixed("TONGBAN_").only(&KEYS))
        .merge(Serialized::defaults(overrides))
        .extract()
        .map_err(|e| {
            e.into_iter()
                .map(|e| format!("configuration error: {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        })?;
    validate(config)
}

fn validate(c: Config) -> Result<Settings, String> {
    let mut errors = Vec::new();
    let listen = c
        .listen
        .parse::<SocketAddr>()
        .map_err(|_| {
            errors.push(format!(
                "listen: `{}` is not an address like 127.0.0.1:8080",
                c.listen
            ))
        })
        .ok();
    let tenant = Tenant::parse(&c.tenant)
        .map_err(|e| errors.push(e.to_string()))
        .ok();
    if !(1..=200).contains(&c.max_connections) {
        errors.push(format!(
            "max_connections: {} is outside 1..=200",
            c.max_connections
        ));
    }
    let json_logs = match c.log_format.as_str() {
        "text" => false,
        "json" => true,
        other => {
            errors.push(format!("log_format: `{other}` must be text or json"));
            false
        }
    };
    if tracing_subscriber::EnvFilter::try_new(&c.log).is_err() {
        errors.push(format!(
            "log: `{}` is not a log filter such as info or tongban=debug",
            c.log
        ));
    }
    if c.data_dir.as_os_str().is_empty() {
        errors.push("data_dir: must not be empty".into());
    }
    let database_url = if c.database_url.trim().is_empty() {
        format!("sqlite://{}", c.data_dir.join("tongban.db").display())
    } else {
        c.database_url.trim().to_owned()
    };
    if let Err(e) = tongban_app::Backend::from_url(&database_url) {
        errors.push(format!("database_url: {e}"));
    }
    let mut totp_roles = None;
    if let Some(names) = &c.totp_roles {
        let mut roles = Vec::new();
        for n in names {
            match tongban_domain::Role::parse(n) {
                Some(r) if r.is_staff() => roles.push(r),
                _ => errors.push(format!("totp_roles: `{n}` is not a staff role")),
            }
        }
        totp_roles = Some(roles);
    }
    if !(5..=24 * 60).contains(&c.session_idle_minutes) {
        errors.push(format!(
            "session_idle_minutes: {} is outside 5..=1440",
            c.session_idle_minutes
        ));
    }
    if !(1..=24 * 30).contains(&c.session_absolute_hours) {
        errors.push(format!(
            "session_absolute_hours: {} is outside 1..=720",
            c.session_absolute_hours
        ));
    }
    if !c.sms_gateway_url.is_empty()
        && let Err(e) = tongban_app::sms::HttpGateway::new(&c.sms_gateway_url, &c.sms_gateway_token)
    {
        errors.push(format!("sms_gateway_url: {e}"));
    }
    let webhook = if c.webhook_url.is_empty() {
        None
    } else {
        match tongban_app::webhook::Webhook::new(&c.webhook_url, &c.webhook_secret) {
            Ok(hook) => Some(hook),
            Err(e) => {
                errors.push(format!("webhook_url: {e}"));
                None
            }
        }
    };
    let mailer = if c.smtp_url.is_empty() {
        None
    } else {
        match tongban_app::email::Mailer::new(&c.smtp_url, &c.mail_from) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(e.to_string());
                None
            }
        }
    };
    let s3 = if c.s3_endpoint.is_empty() && c.s3_bucket.is_empty() {
        None
    } else {
        let s3 = tongban_app::blobs::S3Settings {
            endpoint: c.s3_endpoint.clone(),
            bucket: c.s3_bucket.clone(),
            region: c.s3_region.clone(),
            access_key_id: c.s3_access_key_id.clone(),
            secret_access_key: c.s3_secret_access_key.clone(),
        };
        match tongban_app::blobs::s3_store(&s3) {
            Ok(_) => Some(s3),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    };
    for v in c.request_limits.validate() {
        errors.push(format!("request_limits.{v}"));
    }
    let hours = match parse_working_hours(&c.working_hours) {
        Ok(h) => h,
        Err(why) => {
            errors.push(format!("working_hours: `{}` {why}", c.working_hours));
            tongban_domain::request::limits::WorkingHours::default()
        }
    };
    if let Some(a) = c.auto_dispatch_at
        && !(a > 0.0 && a <= 1.0)
    {
        errors.push(format!(
            "auto_dispatch_at: {a} must be above 0 and at most 1"
        ));
    }
    let request_policy = tongban_app::requests::RequestPolicy {
        limits: c.request_limits.clone(),
        hours,
        auto_dispatch_at: c.auto_dispatch_at,
    };
    if c.data_keys.is_empty() != c.index_key.is_empty() {
        errors.push(
            "data_keys and index_key: set both, or neither (then DATA_DIR/keys.toml is used)"
                .into(),
        );
    }
    match (listen, tenant, errors.is_empty()) {
        (Some(listen), Some(tenant), true) => Ok(Settings {
            listen,
            data_dir: c.data_dir,
            database_url,
            tenant,
            max_connections: c.max_connections,
            log: c.log,
            json_logs,
            data_keys: c.data_keys,
            index_key: c.index_key,
            sms_gateway_url: c.sms_gateway_url,
            sms_gateway_token: c.sms_gateway_token,
            webhook,
            mailer,
            s3,
            request_policy,
            totp_roles,
            secure_cookies: c.secure_cookies,
            sessions: tongban_domain::signin::SessionPolicy {
                idle_ms: c.session_idle_minutes * 60_000,
                absolute_ms: c.session_absolute_hours * 3_600_000,
            },
        }),
        _ => Err(errors
            .into_iter()
            .map(|e| format!("configuration error: {e}"))
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let c = Config {
            listen: "nowhere".into(),
            tenant: "12".into(),
            max_connections: 0,
            log_format: "xml".into(),
            database_url: "mysql://x".into(),
            working_hours: "9-5".into(),
            auto_dispatch_at: Some(1.5),
            request_limits: tongban_domain::request::limits::TimeLimits {
                sign_minutes_urgent: 600,
                ..Default::default()
            },
            ..Config::default()
        };
        let message = validate(c).err().unwrap_or_default();
        for needle in [
            "listen",
            "tenant",
            "max_connections",
            "log_format",
            "database_url",
            "working_hours",
            "auto_dispatch_at",
            "request_limits.sign_minutes_urgent",
        ] {
            assert!(message.contains(needle), "{needle} missing in {message}");
        }
    }

    #[test]
    fn defaults_put_sqlite_under_the_data_dir() {
        let s = validate(Config::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.database_url.starts_with("sqlite://"));
        assert!(s.database_url.ends_with("tongban.db"));
        assert_eq!(s.listen.port(), 8080);
    }
}

/// Reads office hours as `HH:MM-HH:MM` periods separated by commas.
fn parse_working_hours(
    text: &str,
) -> Result<tongban_domain::request::limits::WorkingHours, String> {
    let time = |t: &str| {
        chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
            .map_err(|_| format!("has `{}`, not a time like 08:30", t.trim()))
    };
    let mut periods = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (a, b) = part
            .split_once('-')
            .ok_or_else(|| format!("has `{}`, not a period like 08:30-12:00", part.trim()))?;
        periods.push((time(a)?, time(b)?));
    }
    tongban_domain::request::limits::WorkingHours::new(periods).map_err(|e| e.to_string())
}

#[cfg(test)]
mod working_hours_tests {
    use super::parse_working_hours;

    #[test]
    fn office_hours_are_read_as_periods_and_bad_ones_named() {
        let h = parse_working_hours("08:30-12:00, 14:00-17:30").unwrap_or_default();
        assert_eq!(h.periods.len(), 2);
        assert_eq!(h.minutes_per_day(), 210 + 210);
        assert!(parse_working_hours("8h-12h").is_err());
        assert!(parse_working_hours("14:00-12:00").is_err());
        assert!(parse_working_hours("").is_err());
    }
}
