//! Errors as JSON: `{"error": "..."}` with the status that says which, and what a client needs to
//! act on (the revision a conflict found, the compaction point a relist starts after).
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::controller::ControllerError;
use crate::scheduler::BindError;
use crate::store::StoreError;

/// A request the server could not serve, as it answers it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such object, kind or route (404).
    #[error("{0}")]
    NotFound(String),
    /// The store failed (409 for a conflict, 410 for a compacted revision, 500 otherwise).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored object could not be read (500).
    #[error("{0}")]
    Internal(String),
}

impl From<ControllerError> for ApiError {
    fn from(e: ControllerError) -> ApiError {
        match e {
            ControllerError::Store(s) => ApiError::Store(s),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<BindError> for ApiError {
    fn from(e: BindError) -> ApiError {
        match e {
            BindError::Store(s) => ApiError::Store(s),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// The status and the JSON body.
    pub fn parts(&self) -> (StatusCode, Value) {
        let message = self.to_string();
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, json!({ "error": message })),
            ApiError::Store(StoreError::Conflict { key, found, .. }) => (
                StatusCode::CONFLICT,
                json!({ "error": message, "key": key, "found": found }),
            ),
            ApiError::Store(StoreError::Compacted {
                requested,
                compacted,
            }) => (
                StatusCode::GONE,
                json!({ "error": message, "relist": true, "requested": requested, "compacted": compacted }),
            ),
            ApiError::Store(_) | ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": message }),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        (status, Json(body)).into_response()
    }
}
