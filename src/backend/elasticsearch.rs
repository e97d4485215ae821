//! The Elasticsearch backend, on the `elasticsearch` crate's transport: points in time are
//! `POST /<idx>/_pit` and the sort tiebreaker is `_shard_doc` (see
//! [`Dialect`](super::transport::Dialect)); every request is the trait's shared one.
//!
//! REST compatibility: requests and answers are plain `application/json` (NDJSON for bulk),
//! never the `application/vnd.elasticsearch+json; compatible-with=N` media type. 8.x and 9.x
//! both accept plain JSON for everything logwarden sends (the cluster tests run every request
//! on both majors), and asking for compatibility with one major would make the other refuse
//! or rewrite answers; a deprecation the cluster reports arrives as a `Warning` header,
//! which the request layer logs and counts (see [`super::transport`]).

super::transport::engine_client!(elasticsearch, EsBackend, "An Elasticsearch cluster.");
