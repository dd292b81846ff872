//! Message search (`?search=` on the message list, and the portal log's "Payload search"):
//! `path = value` terms match payload fields, other words match payload values; a search
//! combines with channel, tag and paging; a payload jsonb cannot hold is still accepted and
//! found by its words; an expunged payload is found no more; mistakes answer 422 in words.
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The ids of every message a search finds, read a page of `limit` at a time.
async fn found(app: &TestApp, app_id: &str, query: &str, limit: usize) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut iterator = String::new();
    for _ in 0..50 {
        let path = format!("/api/v1/app/{app_id}/msg?{query}&limit={limit}{iterator}");
        let (s, b) = app.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        let page = b["data"].as_array().unwrap();
        assert!(page.len() <= limit, "{b}");
        ids.extend(page.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        if b["done"] == true {
            return ids;
        }
        iterator = format!("&iterator={}", b["iterator"].as_str().unwrap());
    }
    panic!("{query}: more than 50 pages")
}

fn q(search: &str) -> String {
    format!("search={}", urlencode(search))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn messages_are_found_by_payload_field_and_word_with_channel_tag_and_paging() {
    let app = spawn_app().await;
    let app_id = app.setup_app(&["invoice.paid"]).await;
    let rx = Receiver::start().await;
    app.create_endpoint(&app_id, json!({"url": rx.url("/")})).await;
    let send = |payload: Value, extra: Value| {
        let mut body = json!({"eventType": "invoice.paid", "payload": payload});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let app = &app;
        let app_id = &app_id;
        async move { app.send(app_id, body).await["id"].as_str().unwrap().to_string() }
    };
    let declined = send(
        json!({"customer": {"id": "cus_1", "email": "alice@example.test"}, "amount": 4200,
               "note": "Card declined", "lines": [{"sku": "plan-pro", "qty": 1}]}),
        json!({"channels": ["us"], "tags": ["vip"]}),
    )
    .await;
    let refund_2 = send(
        json!({"customer": {"id": "cus_2"}, "amount": 4200, "note": "refund issued"}),
        json!({"channels": ["us"]}),
    )
    .await;
    let refund_1 = send(
        json!({"customer": {"id": "cus_1"}, "amount": 100, "note": "Refund issued",
               "lines": [{"sku": "plan-basic", "qty": 2}]}),
        json!({"channels": ["eu"], "tags": ["vip"]}),
    )
    .await;
    // a raw (non-JSON) payload is found by its words
    let raw = send(
        json!({}),
        json!({"transformationsParams": {"rawPayload": "refund requested by cus_9",
               "headers": {"Content-Type": "text/plain"}}}),
    )
    .await;
    // JSON that PostgreSQL's jsonb cannot hold (a \u0000 escape) is accepted, delivered, and
    // found by its words; it has no fields to match
    let nul = send(
        json!({"note": "refund of a\u{0}b", "customer": {"id": "cus_1"}}),
        json!({}),
    )
    .await;
    eventually(15, "every delivery", || async { (rx.count() == 5).then_some(()) }).await;

    let all = set(&[&declined, &refund_2, &refund_1, &raw, &nul]);
    assert_eq!(found(&app, &app_id, "", 2).await, all);
    // fields
    assert_eq!(
        found(&app, &app_id, &q(r#"customer.id = "cus_1""#), 250).await,
        set(&[&declined, &refund_1])
    );
    assert_eq!(
        found(&app, &app_id, &q("customer.id = cus_1 amount = 4200"), 250).await,
        set(&[&declined])
    );
    assert_eq!(
        found(&app, &app_id, &q("amount = 4200.0"), 250).await,
        set(&[&declined, &refund_2])
    );
    assert_eq!(
        found(&app, &app_id, &q("lines[].sku = plan-basic lines[].qty = 2"), 250).await,
        set(&[&refund_1])
    );
    assert_eq!(
        found(&app, &app_id, &q("lines[].sku = plan-pro lines[].qty = 2"), 250).await,
        set(&[])
    );
    // words, case-insensitive, in string and number values (not keys), phrases, exclusions
    assert_eq!(
        found(&app, &app_id, &q("refund"), 1).await,
        set(&[&refund_2, &refund_1, &raw, &nul])
    );
    assert_eq!(
        found(&app, &app_id, &q("REFUND -issued"), 250).await,
        set(&[&raw, &nul])
    );
    assert_eq!(
        found(&app, &app_id, &q(r#""card declined""#), 250).await,
        set(&[&declined])
    );
    assert_eq!(
        found(&app, &app_id, &q(r#""declined card""#), 250).await,
        set(&[])
    );
    assert_eq!(
        found(&app, &app_id, &q("alice@example.test"), 250).await,
        set(&[&declined])
    );
    assert_eq!(
        found(&app, &app_id, &q("4200"), 250).await,
        set(&[&declined, &refund_2])
    );
    assert_eq!(found(&app, &app_id, &q("amount"), 250).await, set(&[]));
    assert_eq!(
        found(&app, &app_id, &q("declined or requested"), 250).await,
        set(&[&declined, &raw])
    );
    // both, and with Svix's channel and tag parameters
    assert_eq!(
        found(&app, &app_id, &q("refund customer.id = cus_1"), 250).await,
        set(&[&refund_1])
    );
    assert_eq!(
        found(&app, &app_id, &format!("{}&channel=us", q("refund")), 250).await,
        set(&[&refund_2])
    );
    assert_eq!(
        found(
            &app,
            &app_id,
            &format!("{}&tag=vip", q("customer.id = cus_1")),
            250
        )
        .await,
        set(&[&declined, &refund_1])
    );

    // an expunged payload is found no more, by field or by word
    let (s, b) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/app/{app_id}/msg/{refund_1}/content"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        found(&app, &app_id, &q("customer.id = cus_1"), 250).await,
        set(&[&declined])
    );
    assert_eq!(
        found(&app, &app_id, &q("refund"), 250).await,
        set(&[&refund_2, &raw, &nul])
    );

    // another organisation's key finds nothing of this application
    let other = app.other_org_key().await;
    let (s, _) = app
        .call_as(
            &other,
            reqwest::Method::GET,
            &format!("/api/v1/app/{app_id}/msg?{}", q("refund")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_search_that_cannot_be_run_answers_422_saying_why() {
    let app = spawn_app().await;
    let app_id = app.setup_app(&["invoice.paid"]).await;
    for (search, says) in [
        ("amount > 5", "compared with = only"),
        ("customer.id =", "needs a value"),
        (r#"note = "open"#, "no closing quote"),
        ("a = 1 a = 2", "a is compared twice"),
        ("-test", "only excludes words"),
        ("-a or b", "only excludes words"),
        (r#"-"two words""#, "only excludes words"),
        ("- test", "only excludes words"),
        ("!!", "no words"),
        ("a..b = 1", "not a field comparison"),
        ("a=1b=2", "comparison sign"),
    ] {
        let (s, b) = app.get(&format!("/api/v1/app/{app_id}/msg?{}", q(search))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{search}: {b}");
        assert_eq!(b["detail"][0]["loc"], json!(["query", "search"]), "{b}");
        assert!(
            b["detail"][0]["msg"].as_str().unwrap().contains(says),
            "{search}: {b}"
        );
    }
    // words that only exclude are fine beside a field, which the index finds
    let (s, b) = app
        .get(&format!(
            "/api/v1/app/{app_id}/msg?{}",
            q("customer.id = cus_1 -test")
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let long = "x".repeat(domain::search::MAX_LEN + 1);
    let (s, b) = app.get(&format!("/api/v1/app/{app_id}/msg?search={long}")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
}

/// Whether each history table's partitioned index `name` is valid (every partition has its part).
async fn index_valid(pool: &sqlx::PgPool, name: &str) -> bool {
    sqlx::query_scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_search_indexes_are_built_partition_by_partition_and_a_build_stopped_midway_is_redone() {
    use domain::store::partition_indexes;
    let (pool, _) = fresh_database().await;
    // the migration made the indexes ON ONLY the parent: the partitions that existed then lack
    // them (those made since got them when attached), and the parents' are not valid yet
    let missing = partition_indexes::missing(&pool).await.unwrap();
    let p0: Vec<_> = missing.iter().filter(|m| m.partition == "messages_p0").collect();
    assert_eq!(p0.len(), 2, "{missing:?}");
    assert!(!index_valid(&pool, "messages_payload_fields").await);
    assert!(!index_valid(&pool, "messages_payload_words").await);

    // a build stopped midway leaves an invalid index under the name the builder uses
    sqlx::raw_sql(
        "INSERT INTO organizations (id, name) VALUES ('org_s', 's');
         INSERT INTO applications (id, org_id, name) VALUES ('app_s', 'org_s', 's');
         INSERT INTO messages (id, org_id, app_id, event_type, payload, expires_at)
         VALUES ('m_0', 'org_s', 'app_s', 'a.b', '{\"customer\": {\"id\": \"cus_1\"}}', now() + interval '1 day')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let child = p0
        .iter()
        .find(|m| m.parent_index == "messages_payload_fields")
        .unwrap()
        .child_name();
    let failed = sqlx::query(&format!(
        "CREATE INDEX CONCURRENTLY {child} ON messages_p0 ((1 / (length(id) - length(id))))"
    ))
    .execute(&pool)
    .await;
    assert!(failed.is_err());
    let invalid: bool =
        sqlx::query_scalar("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)")
            .bind(&child)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(invalid);

    let built = partition_indexes::build_missing(&pool).await.unwrap();
    assert_eq!(built, missing.len());
    assert_eq!(partition_indexes::missing(&pool).await.unwrap(), vec![]);
    assert!(index_valid(&pool, "messages_payload_fields").await);
    assert!(index_valid(&pool, "messages_payload_words").await);
    assert_eq!(partition_indexes::build_missing(&pool).await.unwrap(), 0);

    // the functions name nothing the search_path must find: autovacuum's ANALYZE (empty
    // search_path) computes the index expressions of its sample rows
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql("SET search_path = ''; ANALYZE public.messages_p0; RESET search_path")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    // each of p0's parts is the parent's index, valid, and attached to it
    for (parent, child, def) in [
        (
            "messages_payload_fields",
            "messages_p0_payload_fields",
            "USING gin (hookline_payload_jsonb(payload) jsonb_path_ops)",
        ),
        (
            "messages_payload_words",
            "messages_p0_payload_words",
            "USING gin (hookline_payload_words(payload))",
        ),
    ] {
        let (attached, valid, got): (bool, bool, String) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = to_regclass($1) AND inhrelid = to_regclass($2)),
                    (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($2)),
                    pg_get_indexdef(to_regclass($2))",
        )
        .bind(parent)
        .bind(child)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(attached && valid && got.ends_with(def), "{child}: {got}");
    }
    // and the message in p0 (ids below `msg_`) is found by both search conditions
    for cond in [
        r#"hookline_payload_jsonb(payload) @> '{"customer": {"id": "cus_1"}}'"#,
        "hookline_payload_words(payload) @@ websearch_to_tsquery('simple', 'cus_1')",
    ] {
        let found: Vec<String> = sqlx::query_scalar(&format!("SELECT id FROM messages WHERE {cond}"))
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(found, vec!["m_0".to_string()]);
    }
}

#[tokio::test]
async fn a_payload_with_more_words_than_postgresql_indexes_is_accepted_and_found_by_its_fields() {
    let app = spawn_app_with(|s| s.max_payload_bytes = 1024 * 1024).await;
    let app_id = app.setup_app(&["invoice.paid"]).await;
    // 45,000 different hyphenated words (630 KB): their lexemes are 1.7 MB, over the 1 MiB a
    // tsvector holds, so PostgreSQL cannot index the words of this payload
    let word = |i: u32| {
        let c = |base: u32| char::from_u32(base).unwrap();
        format!(
            "{}{}-{}{}",
            c(0x4e00 + i / 150),
            c(0x4e00 + 200 + i % 150),
            c(0x5e00 + i / 150),
            c(0x5e00 + 200 + i % 150)
        )
    };
    let text: Vec<String> = (0..45_000).map(word).collect();
    let m = app
        .send(
            &app_id,
            json!({"eventType": "invoice.paid", "payload": {"customer": {"id": "cus_big"}, "text": text.join(" ")}}),
        )
        .await;
    let id = m["id"].as_str().unwrap().to_string();
    assert_eq!(
        found(&app, &app_id, &q("customer.id = cus_big"), 250).await,
        set(&[&id])
    );
}
