//! The OpenSearch backend, on the `opensearch` crate's transport (2.4 or newer: point in
//! time is `POST /<idx>/_search/point_in_time` with `allow_partial_pit_creation=false`,
//! closed with `DELETE /_search/point_in_time`). Before 3.3 there is no `_shard_doc`, so the
//! sort tiebreaker is (`_index`, `_id`) — see [`Backend::tiebreaker`]. These differences are
//! data in [`Dialect`](super::transport::Dialect); every request is the trait's shared one.

super::transport::engine_client!(opensearch, OsBackend, "An OpenSearch cluster.");
