//! Reaching the test clusters that `scripts/clusters start` runs, for the cluster test files:
//! their URLs from the environment (`eval "$(scripts/clusters env)"`), and a backend on one
//! of them checked to be the engine expected. A cluster that cannot be reached fails the test
//! with what to run; nothing is skipped.

#![allow(dead_code)]

use logwarden::backend::{connect, Backend, BackendConfig, Engine};

/// The URL of the test cluster in `var` (`LOGWARDEN_TEST_ES_URL`, `LOGWARDEN_TEST_OS_URL`).
pub fn url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: start the test clusters with `scripts/clusters start` and \
             `eval \"$(scripts/clusters env)\"` (or run `scripts/test`)"
        )
    })
}

/// A backend on the `engine` test cluster in `var`, with its config set by `tune`.
pub async fn backend(
    var: &str,
    engine: Engine,
    tune: impl FnOnce(&mut BackendConfig),
) -> Box<dyn Backend> {
    let url = url(var);
    let mut cfg = BackendConfig::for_url(&url);
    tune(&mut cfg);
    let b = connect(&cfg).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach the {engine} test cluster at {url} ({e}): run `scripts/clusters start`"
        )
    });
    assert_eq!(b.info().engine, engine, "{var} points at the wrong engine");
    b
}
