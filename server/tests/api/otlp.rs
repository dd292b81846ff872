//! Traces over OTLP/HTTP: a `serve` process that takes a message in and a separate `worker`
//! process that sends it export to a small OTLP receiver here, and the receiver finds one
//! trace from the caller's request through the ingest to each attempt.
use crate::helpers::{eventually, fresh_database};
use crate::procs::{api_key, free_port, Proc};
use crate::receiver::{Receiver, Reply};
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Span {
    service: String,
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    attrs: HashMap<String, String>,
}

type Spans = Arc<Mutex<Vec<Span>>>;

/// What an OTLP/HTTP collector does with `POST /v1/traces`, enough to read the spans.
async fn collect(State(spans): State<Spans>, body: Bytes) -> &'static str {
    let req = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
    let mut out = spans.lock().unwrap();
    for rs in req.resource_spans {
        let service = rs
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(text)
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                out.push(Span {
                    service: service.clone(),
                    trace_id: hex::encode(&s.trace_id),
                    span_id: hex::encode(&s.span_id),
                    parent: hex::encode(&s.parent_span_id),
                    name: s.name,
                    attrs: s
                        .attributes
                        .into_iter()
                        .filter_map(|kv| Some((kv.key, text(kv.value?.value.as_ref()?))))
                        .collect(),
                });
            }
        }
    }
    ""
}

fn text(v: &AnyValue) -> String {
    match v {
        AnyValue::StringValue(s) => s.clone(),
        AnyValue::IntValue(i) => i.to_string(),
        AnyValue::BoolValue(b) => b.to_string(),
        AnyValue::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn one_trace_runs_from_the_callers_request_through_the_ingest_to_each_attempt_in_another_process() {
    let spans: Spans = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let router = Router::new()
        .route("/v1/traces", post(collect))
        .with_state(spans.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let (pool, db_url) = fresh_database().await;
    pool.close().await;
    let dir = std::env::temp_dir().join(format!("hookline-otlp-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = domain::crypto::SecretBox::generate_key_base64();
    let key = api_key(&db_url, &dir, &secret);
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.clone()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
        ("HOOKLINE_DB_MAX_CONNECTIONS", "6".to_string()),
    ];
    let port = free_port();
    let mut serve_env = otel.to_vec();
    serve_env.push(("HOOKLINE_LISTEN", format!("127.0.0.1:{port}")));
    serve_env.push(("HOOKLINE_WORKERS", "false".to_string()));
    let serve = Proc::spawn("serve", &db_url, &dir, &secret, &serve_env);
    let worker = Proc::spawn("worker", &db_url, &dir, &secret, &otel);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    eventually(30, "serve answers", || async {
        http.get(format!("{base}/api/v1/health")).send().await.ok()?;
        Some(())
    })
    .await;

    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500)]);
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
    };
    let app: Value = call(reqwest::Method::POST, "/api/v1/app", json!({"name": "traced"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = app["id"].as_str().unwrap().to_string();
    let ep: Value = call(
        reqwest::Method::POST,
        &format!("/api/v1/app/{app}/endpoint"),
        json!({"url": receiver.url("/hook")}),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let ep = ep["id"].as_str().unwrap().to_string();

    // the caller's own trace: Hookline's spans join it
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let msg: Value = call(
        reqwest::Method::POST,
        &format!("/api/v1/app/{app}/msg"),
        json!({"eventType": "order.paid", "payload": {"n": 1}}),
    )
    .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let msg = msg["id"].as_str().unwrap().to_string();
    eventually(
        20,
        "two attempts (a failure, then the retry's success)",
        || async { (receiver.count() == 2).then_some(()) },
    )
    .await;
    let attempts: Value = call(
        reqwest::Method::GET,
        &format!("/api/v1/app/{app}/attempt/msg/{msg}"),
        json!(null),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let mut attempt_ids: Vec<String> = attempts["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    attempt_ids.sort();
    assert_eq!(attempt_ids.len(), 2);

    let trace = eventually(30, "the ingest and both attempts exported", || async {
        let got: Vec<Span> = spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == caller_trace)
            .cloned()
            .collect();
        (got.iter().filter(|s| s.name == "delivery").count() == 2 && got.iter().any(|s| s.name == "ingest"))
            .then_some(got)
    })
    .await;
    let request = trace
        .iter()
        .find(|s| s.name == "POST /api/v1/app/{app_id}/msg")
        .unwrap_or_else(|| panic!("the request's span, named by its route: {trace:#?}"));
    assert_eq!(request.parent, caller_span, "a child of the caller's span");
    assert_eq!(request.service, "hookline");
    let ingest = trace.iter().find(|s| s.name == "ingest").unwrap();
    assert_eq!(ingest.parent, request.span_id, "{trace:#?}");
    assert_eq!(ingest.attrs["msg_id"], msg);
    assert_eq!(ingest.attrs["app_id"], app);
    let mut seen_attempts = Vec::new();
    for d in trace.iter().filter(|s| s.name == "delivery") {
        assert_eq!(
            d.parent, ingest.span_id,
            "an attempt is a child of the ingest: {d:?}"
        );
        assert_eq!(d.attrs["msg_id"], msg);
        assert_eq!(d.attrs["endpoint_id"], ep);
        seen_attempts.push(d.attrs["attempt_id"].clone());
    }
    seen_attempts.sort();
    assert_eq!(seen_attempts, attempt_ids, "each recorded attempt has its span");
    let statuses: Vec<&str> = trace
        .iter()
        .filter(|s| s.name == "delivery")
        .map(|s| s.attrs["http.response.status_code"].as_str())
        .collect();
    assert!(
        statuses.contains(&"500") && statuses.contains(&"200"),
        "{statuses:?}"
    );
    drop((serve, worker));
}
