//! The API's OpenAPI document and a readable page made from it. The page is plain HTML from
//! the server, so it works offline and under our CSP (hosted API consoles load from CDNs).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr, Required};

#[derive(Debug, Clone)]
pub struct ParamView {
    pub name: String,
    pub location: &'static str,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct OperationView {
    pub method: &'static str,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<ParamView>,
    pub responses: Vec<(String, String)>,
}

pub struct ApiDocs {
    pub json: String,
    pub operations: Vec<OperationView>,
}

fn view(method: &'static str, path: &str, op: &Operation) -> OperationView {
    OperationView {
        method,
        path: path.to_owned(),
        summary: op.summary.clone().unwrap_or_default(),
        description: op.description.clone().unwrap_or_default(),
        params: op
            .parameters
            .iter()
            .flatten()
            .filter_map(|p| match p {
                RefOr::T(p) => Some(p),
                RefOr::Ref(_) => None,
            })
            .map(|p| ParamView {
                name: p.name.clone(),
                location: match p.parameter_in {
                    ParameterIn::Path => "path",
                    ParameterIn::Query | ParameterIn::QueryString => "query",
                    ParameterIn::Header => "header",
                    ParameterIn::Cookie => "cookie",
                },
                required: matches!(p.required, Required::True),
                description: p.description.clone().unwrap_or_default(),
            })
            .collect(),
        responses: op
            .responses
            .responses
            .iter()
            .map(|(status, r)| {
                let d = match r {
                    RefOr::T(r) => r.description.clone(),
                    RefOr::Ref(r) => r.ref_location.clone(),
                };
                (status.clone(), d)
            })
            .collect(),
    }
}

impl ApiDocs {
    pub fn new(doc: &OpenApi) -> Self {
        let mut operations = Vec::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ] {
                if let Some(op) = op {
                    operations.push(view(method, path, op));
                }
            }
        }
        Self {
            json: doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned()),
            operations,
        }
    }
}
