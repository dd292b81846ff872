//! Integration tests: the real server and workers against a real PostgreSQL (one fresh
//! database per test) and real HTTP receivers on loopback.
mod helpers;
mod procs;
mod receiver;

mod accounts;
mod audit;
mod backlog;
mod bad_input;
mod chaos;
mod crash_recovery;
mod delivery;
mod delivery_faults;
mod group_commit;
mod health_and_breaker;
mod history;
mod housekeeping;
mod idempotency;
mod inbox;
mod key_scopes;
mod lookups;
mod monitoring;
mod multi_node;
mod no_server_errors;
mod onboarding;
mod openapi;
mod operational;
mod otlp;
mod pagination_and_tenancy;
mod pg_outage;
mod portal;
mod portal_pages;
mod resources;
mod sdk;
mod sdk_rust;
mod ssrf;
mod svix_compat;
