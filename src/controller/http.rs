//! The controller's HTTP endpoints: /healthz, /readyz, /status, /metrics, POST /sync.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::Shared;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/sync", post(sync))
        .with_state(shared)
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    match shared.ready() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let mut value = match shared.status.read() {
        Ok(s) => serde_json::to_value(&*s).unwrap_or_default(),
        Err(_) => serde_json::json!({}),
    };
    if let Some(queue) = shared.watch.snapshot() {
        value["eventsQueue"] = serde_json::to_value(queue).unwrap_or_default();
    }
    let body = serde_json::to_string_pretty(&value).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let oldest = shared
        .watch
        .snapshot()
        .and_then(|q| q.oldest_pending_seconds);
    shared.metrics.events_oldest_pending(oldest.unwrap_or(0.0));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
        .into_response()
}

async fn sync(State(shared): State<Arc<Shared>>) -> Response {
    shared.wake.notify_one();
    (StatusCode::ACCEPTED, "sync requested\n").into_response()
}
