//! The watch stream: one JSON line per change under a kind's prefix, from a revision on, as
//! Kubernetes' `?watch=true` does. The store's watch blocks, so it runs on a blocking thread and
//! hands lines to the response body through a bounded channel.
//!
//! Lines: `{"type":"BOOKMARK","revision":H}` first (the store's head when the watch began, and
//! the response's headers on their way before any change), then `{"type":"PUT","name","revision",
//! "object"}` and `{"type":"DELETE","name","revision"}` in revision order. A revision already
//! compacted is refused up front with 410 Gone; compaction overtaking an open watch ends the
//! stream with `{"type":"RELIST",...}`. Either way the client lists again and watches from the
//! listing's revision + 1.
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::routes::{AppState, kind, revision_param};
use super::{ApiError, Kind};
use crate::store::{Event, Store, StoreError};

/// How often a waiting watch checks that its client is still there.
const POLL: Duration = Duration::from_millis(250);

fn line(value: &Value) -> String {
    let mut text = value.to_string();
    text.push('\n');
    text
}

fn event_line(kind: Kind, prefix: &str, event: &Event) -> String {
    let name = &event.key()[prefix.len()..];
    let value = match event {
        Event::Put(kv) => {
            let object = serde_json::from_slice::<Value>(&kv.value).unwrap_or(Value::Null);
            json!({ "type": "PUT", "kind": kind.plural(), "name": name, "revision": kv.mod_revision, "object": object })
        }
        Event::Delete { revision, .. } => {
            json!({ "type": "DELETE", "kind": kind.plural(), "name": name, "revision": revision })
        }
    };
    line(&value)
}

pub(super) async fn watch<S: Store + 'static>(
    State(state): State<Arc<AppState<S>>>,
    Path(kind_text): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let kind = kind(&kind_text)?;
    let prefix = kind.key("");
    let store = Arc::clone(&state.store);
    let head = store.revision()?;
    let from = revision_param(&query, "from")?.unwrap_or(head + 1);
    // Refused before any byte is sent, so a compacted revision is a status, not a stream line.
    store.changes_since(&prefix, from.max(1), 1)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(64);
    // A full channel holds the watch back (backpressure), and the receiver gone (the client hung
    // up) ends it within one POLL.
    tokio::task::spawn_blocking(move || {
        if tx
            .blocking_send(line(&json!({ "type": "BOOKMARK", "revision": head })))
            .is_err()
        {
            return;
        }
        let mut watch = store.watch(&prefix, from);
        while !tx.is_closed() {
            let text = match watch.next_timeout(POLL) {
                Ok(None) => continue,
                Ok(Some(event)) => event_line(kind, &prefix, &event),
                Err(e @ StoreError::Compacted { .. }) => {
                    let (_, body) = ApiError::from(e).parts();
                    let _ = tx.blocking_send(line(&json!({ "type": "RELIST", "error": body })));
                    return;
                }
                Err(e) => {
                    let _ =
                        tx.blocking_send(line(&json!({ "type": "ERROR", "error": e.to_string() })));
                    return;
                }
            };
            if tx.blocking_send(text).is_err() {
                return;
            }
        }
    });
    let lines = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|text| (Ok::<_, Infallible>(text), rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response())
}
