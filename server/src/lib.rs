//! The `hookline` binary's library: configuration, start-up, the HTTP surface (REST API,
//! portal host, metrics, docs) and the managed local PostgreSQL.
pub mod api;
pub mod config;
pub mod consumer;
pub mod docs;
pub mod embedded_pg;
pub mod inbox;
pub mod portal_guard;
pub mod sessions;
pub mod startup;
pub mod telemetry;
