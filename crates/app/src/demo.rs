//! The Qinghe County demo data set and the official calendars, embedded in the binary so
//! `tongban serve --demo` works from any folder.

use std::collections::BTreeMap;

use crate::Dataset;

/// Qinghe (130534) master data plus the 2025 and 2026 working-day calendars.
pub fn demo_dataset() -> Dataset {
    Dataset {
        divisions: Some(include_str!("../demo/qinghe/divisions.csv").to_owned()),
        departments: Some(include_str!("../demo/qinghe/departments.csv").to_owned()),
        catalog: Some(include_str!("../demo/qinghe/catalog.json").to_owned()),
        faq: Some(include_str!("../demo/qinghe/faq.json").to_owned()),
        calendars: BTreeMap::from([
            (
                "cn-2025.toml".to_owned(),
                include_str!("../reference/calendar/cn-2025.toml").to_owned(),
            ),
            (
                "cn-2026.toml".to_owned(),
                include_str!("../reference/calendar/cn-2026.toml").to_owned(),
            ),
        ]),
    }
}

/// The demo's labelled requests (`demo/qinghe/requests.csv`) as past dispatches for routing to
/// learn from.
pub fn demo_routing_history() -> Vec<tongban_store::RoutingExample> {
    let mut reader =
        csv::Reader::from_reader(include_str!("../demo/qinghe/requests.csv").as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .filter(|r| r.len() >= 6)
        .map(|r| tongban_store::RoutingExample {
            id: format!("demo:{}", &r[0]),
            text: r[2].to_owned(),
            township_code: Some(r[3].to_owned()).filter(|t| !t.is_empty()),
            unit_code: r[5].to_owned(),
            accepted: true,
            at: 0,
        })
        .collect()
}

/// The password of every demo account. Demo accounts exist only with `--demo`.
pub const DEMO_PASSWORD: &str = "Qinghe-demo-2026";

/// One demo account, as start-up lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub role: &'static str,
    /// A staff username, or a resident's mobile number (they sign in with an SMS code).
    pub sign_in: String,
    pub name: String,
    pub unit: String,
}

const DEMO_STAFF: &[(&str, &str, &str, &str)] = &[
    ("admin", "王建国", "130534-SPJ", "administrator"),
    ("supervisor", "刘芳", "130534-SPJ", "supervisor"),
    ("dispatcher", "陈静", "130534-12345", "dispatcher"),
    ("clerk", "张伟", "130534-SPJ", "window_clerk"),
    ("spj.handler", "吴敏", "130534-SPJ", "department_handler"),
    ("handler", "李强", "130534-GAJ", "department_handler"),
    ("head", "赵刚", "130534-GAJ", "department_head"),
    ("gxz.clerk", "孙丽", "130534100000", "window_clerk"),
    ("lz.handler", "周磊", "130534101000", "department_handler"),
];

/// The demo resident (who has an elderly mother as a family member) and the village agent.
pub const DEMO_RESIDENT_PHONE: &str = "13800000001";
pub const DEMO_AGENT_PHONE: &str = "13800000002";
const DEMO_VILLAGE: &str = "130534100201";

/// An 18-digit number with a correct check character, from region, birth date and sequence.
fn demo_id_number(birth: &str, sequence: &str) -> String {
    let first17 = format!("130534{birth}{sequence}");
    let mut digits = [0u32; 17];
    for (slot, c) in digits.iter_mut().zip(first17.chars()) {
        *slot = c.to_digit(10).unwrap_or(0);
    }
    format!(
        "{first17}{}",
        tongban_domain::identity::check_character(&digits)
    )
}

impl crate::App {
    /// Creates one account per role, a village agent, and a resident with an elderly parent,
    /// unless they exist. Only ever called for `--demo`.
    pub async fn create_demo_accounts(&self) -> Result<Vec<DemoAccount>, crate::AppError> {
        let system = tongban_domain::Actor {
            user_id: crate::audit::SYSTEM.into(),
            roles: vec![tongban_domain::Role::Administrator],
            unit: None,
            division: None,
            family: Vec::new(),
        };
        let catalog = self.catalog().await?;
        let mut out = Vec::new();
        for (username, name, unit, role) in DEMO_STAFF {
            if self
                .store
                .user_by_username(&self.tenant, username)
                .await?
                .is_none()
            {
                self.create_staff(
                    &system,
                    &crate::people::NewStaff {
                        username: (*username).into(),
                        name: (*name).into(),
                        unit: (*unit).into(),
                        roles: vec![(*role).into()],
                        password: DEMO_PASSWORD.into(),
                    },
                )
                .await?;
            }
            out.push(DemoAccount {
                role,
                sign_in: (*username).into(),
                name: (*name).into(),
                unit: catalog.unit_name(unit).to_owned(),
            });
        }
        let township_clerk = self
            .store
            .user_by_username(&self.tenant, "gxz.clerk")
            .await?
            .ok_or_else(|| crate::AppError::Internal("demo clerk missing".into()))?;
        let registrar = self.actor_for(&township_clerk).await?;
        let agent_hash = self
            .identity
            .vault
            .blind_index(crate::signin::PHONE, DEMO_AGENT_PHONE);
        if self
            .store
            .user_by_phone_hash(&self.tenant, &agent_hash)
            .await?
            .is_none()
        {
            self.register_agent(&registrar, DEMO_AGENT_PHONE, "赵红", DEMO_VILLAGE)
                .await?;
        }
        out.push(DemoAccount {
            role: "village_agent",
            sign_in: DEMO_AGENT_PHONE.into(),
            name: "赵红".into(),
            unit: catalog
                .division(DEMO_VILLAGE)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
        });

        let phone_hash = self
            .identity
            .vault
            .blind_index(crate::signin::PHONE, DEMO_RESIDENT_PHONE);
        if self
            .store
            .user_by_phone_hash(&self.tenant, &phone_hash)
            .await?
            .is_none()
        {
            let now = self.now_ms();
            let resident = tongban_store::UserRecord {
                id: crate::signin::new_user_id(),
                phone_enc: Some(
                    self.identity
                        .vault
                        .encrypt(crate::signin::PHONE, DEMO_RESIDENT_PHONE)?,
                ),
                phone_hash: Some(phone_hash),
                roles: vec!["resident".into()],
                created_at: now,
                ..Default::default()
            };
            let mut tx = self.store.begin().await?;
            self.store
                .insert_user(&mut tx, &self.tenant, &resident)
                .await?;
            tx.commit().await?;
            let principal = self.principal_of(&resident.id).await?;
            self.complete_real_name(
                &principal,
                "李明",
                &demo_id_number("19780315", "201"),
                Some(DEMO_VILLAGE),
            )
            .await?;
            self.add_family_member(
                &principal,
                "母亲",
                "王桂兰",
                &demo_id_number("19460802", "142"),
            )
            .await?;
        }
        out.push(DemoAccount {
            role: "resident",
            sign_in: DEMO_RESIDENT_PHONE.into(),
            name: "李明（家人：母亲 王桂兰）".into(),
            unit: String::new(),
        });
        Ok(out)
    }
}
