//! Ed25519 signatures (`v1a`, `whsk_`/`whpk_`): keys made by an independent implementation
//! (Python's `cryptography`, on OpenSSL), real deliveries verified by the portal's own Python
//! and Node snippets (`app/src/snippets/`), rotation between and across schemes, and bad keys
//! refused in words.
use crate::helpers::*;
use crate::portal::{logged_in, portal_app, portal_call};
use crate::receiver::{Received, Receiver};
use crate::sdk::python;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn snippet(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../app/src/snippets")
        .join(name)
}

/// A key pair made by Python's `cryptography`: (`whsk_` secret key, `whpk_` public key).
fn python_key_pair() -> (String, String) {
    let script = r#"
import base64
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
k = Ed25519PrivateKey.generate()
seed = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
pk = k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
print("whsk_" + base64.b64encode(seed + pk).decode())
print("whpk_" + base64.b64encode(pk).decode())
"#;
    let out = Command::new(python()).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "Python with `cryptography` makes the key (scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (
        lines.next().unwrap().to_string(),
        lines.next().unwrap().to_string(),
    )
}

fn run_with_body(mut c: Command, body: &[u8]) -> Result<(), String> {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn headers_json(got: &Received) -> String {
    json!({
        "webhook-id": got.header("webhook-id"),
        "webhook-timestamp": got.header("webhook-timestamp"),
        "webhook-signature": got.header("webhook-signature"),
    })
    .to_string()
}

/// The portal's Python snippet run on what the receiver got (the body as given).
fn python_snippet_verifies(public_key: &str, got: &Received, body: &[u8]) -> Result<(), String> {
    let driver = "import importlib.util, json, sys
spec = importlib.util.spec_from_file_location('snippet', sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
m.verify(sys.argv[2], json.loads(sys.argv[3]), sys.stdin.buffer.read())";
    let mut c = Command::new(python());
    c.arg("-c")
        .arg(driver)
        .arg(snippet("ed25519.py"))
        .arg(public_key)
        .arg(headers_json(got));
    run_with_body(c, body)
}

/// The portal's Node snippet run on what the receiver got.
fn node_snippet_verifies(public_key: &str, got: &Received, body: &[u8]) -> Result<(), String> {
    let driver = "const { verify } = require(process.argv[1]);
const chunks = [];
process.stdin.on('data', (d) => chunks.push(d)).on('end', () =>
  verify(process.argv[2], JSON.parse(process.argv[3]), Buffer.concat(chunks)));";
    let mut c = Command::new("node");
    c.arg("-e")
        .arg(driver)
        .arg(snippet("ed25519.js"))
        .arg(public_key)
        .arg(headers_json(got));
    run_with_body(c, body)
}

fn both_snippets_verify(public_key: &str, got: &Received) {
    let body = got.body.as_bytes();
    python_snippet_verifies(public_key, got, body).unwrap_or_else(|e| panic!("Python: {e}"));
    node_snippet_verifies(public_key, got, body).unwrap_or_else(|e| panic!("Node: {e}"));
}

fn signatures(got: &Received) -> Vec<String> {
    got.header("webhook-signature")
        .split(' ')
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn an_ed25519_endpoint_signs_v1a_and_receivers_verify_with_the_public_key_alone() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let (secret_key, public_key) = python_key_pair();
    let ep = app
        .create_endpoint(&id, json!({"url": r.url("/"), "secret": secret_key}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    // as Svix: the secret of an Ed25519 endpoint reads as its public key
    assert_eq!(app.secret(&id, ep).await, public_key);

    app.send(
        &id,
        json!({"eventType": "a.b", "payload": {"café": "naïve ✓", "n": [1, 2]}}),
    )
    .await;
    eventually(10, "delivery", || async { (r.count() == 1).then_some(()) }).await;
    let got = &r.received()[0];
    let sigs = signatures(got);
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    assert!(sigs[0].starts_with("v1a,"), "{sigs:?}");
    assert_eq!(got.header("svix-signature"), got.header("webhook-signature"));
    both_snippets_verify(&public_key, got);
    // the snippets refuse what was not signed
    let tampered = got.body.replace("café", "cafe");
    assert!(python_snippet_verifies(&public_key, got, tampered.as_bytes()).is_err());
    assert!(node_snippet_verifies(&public_key, got, tampered.as_bytes()).is_err());
    let (_, other_public) = python_key_pair();
    assert!(python_snippet_verifies(&other_public, got, got.body.as_bytes()).is_err());
    assert!(node_snippet_verifies(&other_public, got, got.body.as_bytes()).is_err());
}

#[tokio::test]
async fn rotation_keeps_the_scheme_or_crosses_to_the_other_and_both_sign_during_the_grace_period() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let r = Receiver::start().await;
    let (secret_key, first_public) = python_key_pair();
    let ep = app
        .create_endpoint(&id, json!({"url": r.url("/"), "secret": secret_key}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let rotate = format!("/api/v1/app/{id}/endpoint/{ep}/secret/rotate");

    // no key given: a new Ed25519 key, made by Hookline
    let (s, rotated) = app.post(&rotate, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let second_public = rotated["key"].as_str().unwrap().to_string();
    assert!(
        second_public.starts_with("whpk_") && second_public != first_public,
        "{second_public}"
    );
    assert_eq!(app.secret(&id, ep).await, second_public);
    app.send(&id, json!({"eventType": "a.b", "payload": {"i": 1}}))
        .await;
    eventually(10, "first delivery", || async { (r.count() == 1).then_some(()) }).await;
    let got = &r.received()[0];
    let sigs = signatures(got);
    assert_eq!(sigs.len(), 2, "{sigs:?}");
    assert!(sigs.iter().all(|s| s.starts_with("v1a,")), "{sigs:?}");
    both_snippets_verify(&first_public, got);
    both_snippets_verify(&second_public, got);

    // to HMAC: the receiver's Standard Webhooks check passes, and the Ed25519 key it replaced
    // still signs (one previous key signs at a time, as before)
    let hmac = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (s, rotated) = app.post(&rotate, json!({"key": hmac})).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["key"], hmac);
    app.send(&id, json!({"eventType": "a.b", "payload": {"i": 2}}))
        .await;
    eventually(10, "second delivery", || async { (r.count() == 2).then_some(()) }).await;
    let got = &r.received()[1];
    let sigs = signatures(got);
    assert_eq!(
        sigs.iter().filter(|s| s.starts_with("v1,")).count(),
        1,
        "{sigs:?}"
    );
    assert_eq!(
        sigs.iter().filter(|s| s.starts_with("v1a,")).count(),
        1,
        "{sigs:?}"
    );
    let ts: i64 = got.header("webhook-timestamp").parse().unwrap();
    let sig = got.header("webhook-signature");
    assert!(domain::signing::verify(
        hmac,
        got.msg_id(),
        ts,
        got.body.as_bytes(),
        sig
    ));
    both_snippets_verify(&second_public, got);
    assert!(python_snippet_verifies(&first_public, got, got.body.as_bytes()).is_err());

    // and back to Ed25519 with a key of one's own, ending the others at once
    let (third_secret, third_public) = python_key_pair();
    let (s, rotated) = app
        .post(&rotate, json!({"key": third_secret, "gracePeriodSeconds": 0}))
        .await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["key"], third_public.as_str());
    app.send(&id, json!({"eventType": "a.b", "payload": {"i": 3}}))
        .await;
    eventually(10, "third delivery", || async { (r.count() == 3).then_some(()) }).await;
    let got = &r.received()[2];
    assert_eq!(signatures(got).len(), 1, "{:?}", signatures(got));
    both_snippets_verify(&third_public, got);
    assert!(python_snippet_verifies(&second_public, got, got.body.as_bytes()).is_err());

    // the audit log names each rotation's scheme, never a key
    let (_, log) = app.get("/api/v1/audit-log?action=endpoint.secret_rotated").await;
    let schemes: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["scheme"].as_str().unwrap())
        .collect();
    assert_eq!(schemes, ["ed25519", "hmac", "ed25519"], "{log}");
    for key in [&third_secret, &third_public, &second_public] {
        assert!(!log.to_string().contains(&key[5..]), "{log}");
    }
}

#[tokio::test]
async fn a_bad_ed25519_key_is_refused_in_words_and_nothing_is_made() {
    let app = spawn_app().await;
    let id = app.setup_app(&["a.b"]).await;
    let (one, _) = python_key_pair();
    let (two, _) = python_key_pair();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let one_bytes = b64.decode(&one[5..]).unwrap();
    let two_bytes = b64.decode(&two[5..]).unwrap();
    // one key's seed with another's public half
    let mismatched = format!(
        "whsk_{}",
        b64.encode([&one_bytes[..32], &two_bytes[32..]].concat())
    );
    let seed_only = format!("whsk_{}", b64.encode(&one_bytes[..32]));
    for bad in [mismatched.as_str(), seed_only.as_str(), "whsk_not base64!"] {
        let (s, body) = app
            .post(
                &format!("/api/v1/app/{id}/endpoint"),
                json!({"url": "http://127.0.0.1:9/", "secret": bad}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body.to_string().contains("Ed25519"), "{body}");
    }
    let (_, list) = app.get(&format!("/api/v1/app/{id}/endpoint")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "{list}");

    let ep = app
        .create_endpoint(&id, json!({"url": "http://127.0.0.1:9/"}))
        .await;
    let ep = ep["id"].as_str().unwrap();
    let before = app.secret(&id, ep).await;
    let (s, body) = app
        .post(
            &format!("/api/v1/app/{id}/endpoint/{ep}/secret/rotate"),
            json!({"key": mismatched}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(app.secret(&id, ep).await, before);
}

#[tokio::test]
async fn the_portal_makes_ed25519_endpoints_and_switches_schemes_on_rotation() {
    let app = spawn_app().await;
    let cookie = logged_in(&app, "ada@example.com", "Engines").await;
    let shop = portal_app(&app, &cookie, "Shop", "").await;
    let shop = shop.as_str();
    let form = |signing: &'static str| {
        vec![
            ("app", shop.to_string()),
            ("url", "http://127.0.0.1:9/hook".to_string()),
            ("description", String::new()),
            ("channels", String::new()),
            ("rate_limit", String::new()),
            ("signing", signing.to_string()),
        ]
    };
    let call = |f: Vec<(&'static str, String)>| {
        let (app, cookie) = (&app, &cookie);
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            portal_call(app, cookie, "add_endpoint", &f).await
        }
    };
    let (s, body) = call(form("rocket")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("not a signature scheme"), "{body}");
    let (s, body) = call(form("ed25519")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ep: Value = serde_json::from_str(&body).unwrap();
    let ep = ep["id"].as_str().unwrap();
    let ids = [("app", shop), ("endpoint", ep)];
    let (s, body) = portal_call(&app, &cookie, "reveal_secret", &ids).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    let public = shown["current"].as_str().unwrap().to_string();
    assert!(public.starts_with("whpk_"), "{shown}");

    let (s, body) = portal_call(
        &app,
        &cookie,
        "rotate_secret",
        &[ids[0], ids[1], ("scheme", "hmac")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    assert!(
        shown["current"].as_str().unwrap().starts_with("whsec_"),
        "{shown}"
    );
    assert_eq!(shown["previous"][0], public.as_str(), "{shown}");
    let (s, body) = portal_call(&app, &cookie, "rotate_secret", &[ids[0], ids[1], ("scheme", "")]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    assert!(
        shown["current"].as_str().unwrap().starts_with("whsec_"),
        "same scheme: {shown}"
    );
    let (s, body) = portal_call(
        &app,
        &cookie,
        "rotate_secret",
        &[ids[0], ids[1], ("scheme", "dsa")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("not a signature scheme"), "{body}");
}
