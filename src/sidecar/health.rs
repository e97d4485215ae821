//! The sidecar's HTTP endpoint: `/health` (the process is alive), `/ready` (connected,
//! every source past its backfill and keeping up, and the notification outbox not stuck),
//! `/metrics` (the [`Metrics`] of [`crate::telemetry::metrics`]) and the API.

pub use crate::telemetry::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use warp::Filter;

/// Serve `/health`, `/ready`, `/metrics` and, when given, the API (`/api/v1/…`) on `addr` until `shutdown` resolves. Returns the
/// bound address (port 0 picks a free one).
pub async fn serve(
    addr: SocketAddr,
    metrics: Metrics,
    api: Option<Arc<super::api::Api>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let m1 = metrics.clone();
    let health = warp::path("health").and(warp::path::end()).map(move || {
        warp::reply::json(&serde_json::json!({"status": "alive", "detail": m1.status()}))
    });
    let m2 = metrics.clone();
    let ready = warp::path("ready").and(warp::path::end()).map(move || {
        let code = if m2.is_ready() {
            warp::http::StatusCode::OK
        } else {
            warp::http::StatusCode::SERVICE_UNAVAILABLE
        };
        let body = serde_json::json!({"ready": m2.is_ready(), "detail": m2.status()});
        warp::reply::with_status(warp::reply::json(&body), code)
    });
    let m3 = metrics.clone();
    let prom = warp::path("metrics").and(warp::path::end()).map(move || {
        warp::reply::with_header(m3.render(), "content-type", "text/plain; version=0.0.4")
    });
    let api = match api {
        Some(api) => super::ui::routes()
            .or(super::api::routes(api, metrics.clone()))
            .unify()
            .boxed(),
        None => warp::any()
            .and_then(|| async { Err::<warp::reply::Response, _>(warp::reject::not_found()) })
            .boxed(),
    };
    let routes = warp::get().and(health.or(ready).or(prom)).or(api);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let server = warp::serve(routes)
        .incoming(listener)
        .graceful(shutdown)
        .run();
    tokio::spawn(server);
    Ok(bound)
}
