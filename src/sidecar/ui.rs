//! The web page, served beside the API on `run.listen`: static files compiled into the
//! binary (no build step for users), which read everything from `/api/v1`.
//!
//! Owns: [`routes`]. `/` redirects to `/ui/`; the files carry no data, so they need no token
//! (the page asks for it when the API answers 401 and keeps it in the browser's storage).

use warp::http::{header, HeaderValue, StatusCode};
use warp::Filter;

const INDEX: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

fn file(body: &'static str, content_type: &'static str) -> warp::reply::Response {
    let mut r = warp::reply::Response::new(body.into());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    r
}

/// `GET /` (a redirect) and `GET /ui/…`.
pub fn routes() -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone
{
    let root = warp::path::end().map(|| {
        let mut r = warp::reply::Response::new("".into());
        *r.status_mut() = StatusCode::SEE_OTHER;
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/ui/"));
        r
    });
    let ui =
        warp::path("ui")
            .and(warp::path::tail())
            .and_then(|tail: warp::path::Tail| async move {
                match tail.as_str() {
                    "" | "index.html" => Ok(file(INDEX, "text/html; charset=utf-8")),
                    "app.js" => Ok(file(APP_JS, "text/javascript; charset=utf-8")),
                    "app.css" => Ok(file(APP_CSS, "text/css; charset=utf-8")),
                    _ => Err(warp::reject::not_found()),
                }
            });
    warp::get().and(root.or(ui).unify())
}
