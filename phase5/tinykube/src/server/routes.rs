//! The routes: each handler reads or writes the store and answers JSON. Store calls are short
//! (a lock, or one redb transaction) and run on the runtime's workers; only a watch, which waits,
//! runs on a blocking thread (`watch.rs`).
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{ApiError, Kind, ServerConfig, watch};
use crate::controller::{list_json, node_status_key, rollout_status, status_key};
use crate::objects::{Deployment, Node, Pod, ReplicaSet};
use crate::scheduler::{Snapshot, Weights, schedule, why_pending};
use crate::store::{Expect, Store};

/// What every handler shares.
#[derive(Debug)]
pub(super) struct AppState<S> {
    pub(super) store: Arc<S>,
    pub(super) config: ServerConfig,
}

type Shared<S> = State<Arc<AppState<S>>>;

/// The API's routes over `store` (serve them with `axum::serve`, or use [`super::ApiServer`]).
pub fn router<S: Store + 'static>(store: Arc<S>, config: ServerConfig) -> Router {
    let state = Arc::new(AppState { store, config });
    Router::new()
        .route("/api/v1/watch/{kind}", get(watch::watch::<S>))
        .route("/api/v1/pods/{name}/describe", get(describe::<S>))
        .route("/api/v1/pods/{name}/logs", get(logs::<S>))
        .route("/api/v1/deployments/{name}/rollout", get(rollout::<S>))
        .route("/api/v1/{kind}", get(list::<S>))
        .route(
            "/api/v1/{kind}/{name}",
            get(get_one::<S>).put(put_one::<S>).delete(delete_one::<S>),
        )
        .fallback(|| async { ApiError::NotFound("no such route (see tinykube::server)".into()) })
        .with_state(state)
}

pub(super) fn kind(text: &str) -> Result<Kind, ApiError> {
    // The server takes the plural only: one spelling per resource, as Kubernetes' REST paths.
    Kind::parse(text)
        .filter(|k| k.plural() == text)
        .ok_or_else(|| {
            ApiError::NotFound(format!("unknown kind `{text}` (known: {})", Kind::known()))
        })
}

fn valid_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "invalid name {name:?}: letters, digits, `-`, `.`, `_`, at most 253"
        )))
    }
}

/// `key=value` pairs of a query string (no percent-decoding: every value the API takes is a
/// number or `true`).
pub(super) fn query_param(query: &Option<String>, name: &str) -> Option<String> {
    query.as_deref()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.to_string())
    })
}

pub(super) fn revision_param(query: &Option<String>, name: &str) -> Result<Option<u64>, ApiError> {
    query_param(query, name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!("`{name}` must be a revision (a number), got {v:?}"))
            })
        })
        .transpose()
}

fn stored_json(key: &str, bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::Internal(format!("stored object at `{key}` is corrupt: {e}")))
}

/// The status record beside an object, if its kind has one.
fn status_of<S: Store>(store: &S, kind: Kind, name: &str) -> Result<Option<Value>, ApiError> {
    let key = match kind {
        Kind::Pods => status_key(name),
        Kind::Nodes => node_status_key(name),
        _ => return Ok(None),
    };
    store
        .get(&key)?
        .map(|kv| stored_json(&key, &kv.value))
        .transpose()
}

fn item<S: Store>(
    store: &S,
    kind: Kind,
    name: &str,
    revision: u64,
    value: &[u8],
) -> Result<Value, ApiError> {
    let mut item = json!({
        "name": name,
        "revision": revision,
        "object": stored_json(&kind.key(name), value)?,
    });
    if let Some(status) = status_of(store, kind, name)? {
        item["status"] = status;
    }
    Ok(item)
}

async fn list<S: Store>(
    State(state): Shared<S>,
    Path(kind_text): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind(&kind_text)?;
    let prefix = kind.key("");
    let listing = state.store.list(&prefix)?;
    let items = listing
        .items
        .iter()
        .map(|kv| {
            item(
                &*state.store,
                kind,
                &kv.key[prefix.len()..],
                kv.mod_revision,
                &kv.value,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(
        json!({ "revision": listing.revision, "items": items }),
    ))
}

async fn get_one<S: Store>(
    State(state): Shared<S>,
    Path((kind_text, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind(&kind_text)?;
    let kv = state
        .store
        .get(&kind.key(&name))?
        .ok_or_else(|| ApiError::NotFound(format!("{} `{name}` not found", kind.plural())))?;
    Ok(Json(item(
        &*state.store,
        kind,
        &name,
        kv.mod_revision,
        &kv.value,
    )?))
}

/// Checks `body` is an object of `kind` named `name`; its canonical JSON.
fn validate(kind: Kind, name: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(
        body: &[u8],
        name_of: impl Fn(&T) -> &str,
        name: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let object: T = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("invalid object: {e}")))?;
        if name_of(&object) != name {
            return Err(ApiError::BadRequest(format!(
                "metadata.name `{}` does not match the path's `{name}`",
                name_of(&object)
            )));
        }
        serde_json::to_vec(&object).map_err(|e| ApiError::Internal(e.to_string()))
    }
    match kind {
        Kind::Pods => typed::<Pod>(body, |o| &o.metadata.name, name),
        Kind::Nodes => typed::<Node>(body, |o| &o.metadata.name, name),
        Kind::ReplicaSets => typed::<ReplicaSet>(body, |o| &o.metadata.name, name),
        Kind::Deployments => typed::<Deployment>(body, |o| &o.metadata.name, name),
    }
}

/// The condition a write holds to: `?revision=N` (compare-and-swap), `?create=true` (absent), or
/// none (whatever is there).
fn expect(query: &Option<String>) -> Result<Expect, ApiError> {
    match (
        revision_param(query, "revision")?,
        query_param(query, "create").as_deref(),
    ) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "`revision` and `create` exclude each other".into(),
        )),
        (Some(r), None) => Ok(Expect::Revision(r)),
        (None, Some("true")) => Ok(Expect::Absent),
        (None, Some(other)) => Err(ApiError::BadRequest(format!(
            "`create` takes `true`, got {other:?}"
        ))),
        (None, None) => Ok(Expect::Any),
    }
}

async fn put_one<S: Store>(
    State(state): Shared<S>,
    Path((kind_text, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let kind = kind(&kind_text)?;
    valid_name(&name)?;
    let expect = expect(&query)?;
    let canonical = validate(kind, &name, &body)?;
    let revision = state
        .store
        .put(&kind.key(&name), &canonical, expect, None)?;
    Ok(Json(json!({ "revision": revision })))
}

async fn delete_one<S: Store>(
    State(state): Shared<S>,
    Path((kind_text, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let kind = kind(&kind_text)?;
    let expect = revision_param(&query, "revision")?.map_or(Expect::Any, Expect::Revision);
    match state.store.delete(&kind.key(&name), expect)? {
        Some(revision) => Ok(Json(json!({ "revision": revision }))),
        None => Err(ApiError::NotFound(format!(
            "{} `{name}` not found",
            kind.plural()
        ))),
    }
}

/// The pod, its status, and the decision the scheduler makes for it against the cluster as it
/// is now (the pod itself left out of the node usage), with "why pending" when no node takes it.
async fn describe<S: Store>(
    State(state): Shared<S>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = &*state.store;
    let key = Kind::Pods.key(&name);
    let kv = store
        .get(&key)?
        .ok_or_else(|| ApiError::NotFound(format!("pods `{name}` not found")))?;
    let pod: Pod = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::Internal(format!("stored object at `{key}` is corrupt: {e}")))?;
    let nodes: Vec<Node> = list_json::<S, Node>(store, &Kind::Nodes.key(""))?
        .into_iter()
        .map(|(_, node, _)| node)
        .collect();
    let others: Vec<Pod> = list_json::<S, Pod>(store, &Kind::Pods.key(""))?
        .into_iter()
        .filter(|(other, _, _)| *other != name)
        .map(|(_, pod, _)| pod)
        .collect();
    let snapshot = Snapshot::new(nodes, &others);
    let decision = schedule(&pod, &snapshot, &Weights::default());
    let rejected: Vec<Value> = decision
        .rejected
        .iter()
        .map(|r| json!({ "node": r.node, "filter": r.filter.to_string(), "reason": r.reason }))
        .collect();
    let scores: Vec<Value> = decision
        .scores
        .iter()
        .map(|s| {
            let parts: Vec<Value> = s
                .parts
                .iter()
                .map(|(score, value)| json!({ "score": format!("{score:?}"), "value": value }))
                .collect();
            json!({ "node": s.node, "total": s.total, "parts": parts })
        })
        .collect();
    let why: Vec<String> = if pod.spec.node_name.is_none() {
        why_pending(&pod, &snapshot)
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "name": name,
        "revision": kv.mod_revision,
        "object": stored_json(&key, &kv.value)?,
        "status": status_of(store, Kind::Pods, &name)?,
        "decision": { "rejected": rejected, "scores": scores, "chosen": decision.chosen() },
        "whyPending": why,
    })))
}

/// The log files the agents may have written for `pod` (bound to `node`), most specific first.
fn log_candidates(dir: &std::path::Path, pod: &str, node: Option<&str>) -> Vec<PathBuf> {
    let file = format!("{pod}.log");
    let mut paths = Vec::new();
    if let Some(node) = node {
        paths.push(dir.join(node).join(&file));
    }
    paths.push(dir.join(file));
    paths
}

async fn logs<S: Store>(State(state): Shared<S>, Path(name): Path<String>) -> Response {
    let found = (|| {
        valid_name(&name)?;
        let key = Kind::Pods.key(&name);
        let kv = state
            .store
            .get(&key)?
            .ok_or_else(|| ApiError::NotFound(format!("pods `{name}` not found")))?;
        let pod: Pod = serde_json::from_slice(&kv.value)
            .map_err(|e| ApiError::Internal(format!("stored object at `{key}` is corrupt: {e}")))?;
        let Some(dir) = &state.config.log_dir else {
            return Err(ApiError::NotFound(
                "this server was started without a log directory".into(),
            ));
        };
        for path in log_candidates(dir, &name, pod.spec.node_name.as_deref()) {
            match crate::agent::read_log(&path) {
                Ok(bytes) => return Ok(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(ApiError::Internal(format!("{}: {e}", path.display())));
                }
            }
        }
        Err(ApiError::NotFound(format!(
            "no log for pod `{name}` yet (not started by an agent?)"
        )))
    })();
    match found {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn rollout<S: Store>(
    State(state): Shared<S>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let status = rollout_status(&*state.store, &name)?
        .ok_or_else(|| ApiError::NotFound(format!("deployments `{name}` not found")))?;
    Ok(Json(json!({
        "desired": status.desired,
        "updated": status.updated,
        "updatedReady": status.updated_ready,
        "ready": status.ready,
        "total": status.total,
        "old": status.old,
        "complete": status.complete(),
    })))
}
