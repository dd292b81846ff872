//! The official Svix Rust SDK (crate `svix`, pinned in Cargo.toml), unmodified, drives a live
//! Hookline: filters and channels that really route, headers, secrets and rotation, messages,
//! attempts, resend, recover, replay-missing, background tasks, portal access, pagination both
//! ways, raw payloads and the SDK's own errors. Deliveries are verified with the SDK's `Webhook`.
use crate::helpers::*;
use crate::receiver::Receiver;
use std::collections::{BTreeMap, BTreeSet};
use svix::api::*;
use svix::error::Error;
use svix::models::*;
use svix::webhooks::Webhook;

fn set(items: &[&str]) -> Option<BTreeSet<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

/// The HTTP status of an SDK error (HTTP or validation).
fn status_of<T: std::fmt::Debug>(r: Result<T, Error>) -> u16 {
    match r {
        Err(Error::Http(e)) => e.status.as_u16(),
        Err(Error::Validation(e)) => e.status.as_u16(),
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_official_svix_rust_sdk_works_against_hookline() {
    let app = spawn_app().await;
    let svix = Svix::new(
        app.key.clone(),
        Some(SvixOptions {
            server_url: Some(app.base.clone()),
            ..Default::default()
        }),
    );
    svix.health().get().await.unwrap();

    // event types and applications
    svix.event_type()
        .create(
            EventTypeIn::new("invoice.paid".into(), "An invoice was paid".into()),
            None,
        )
        .await
        .unwrap();
    let mut et = EventTypeIn::new("user.created".into(), "A user signed up".into());
    et.group_name = Some("users".into());
    svix.event_type().create(et, None).await.unwrap();
    assert_eq!(
        svix.event_type()
            .get("user.created".into())
            .await
            .unwrap()
            .group_name
            .as_deref(),
        Some("users")
    );
    let mut app_in = ApplicationIn::new("Rust app".into());
    app_in.uid = Some("rust-app".into());
    let a = svix.application().create(app_in.clone(), None).await.unwrap();
    assert!(a.id.starts_with("app_"));
    assert_eq!(svix.application().get("rust-app".into()).await.unwrap().id, a.id);
    assert_eq!(
        svix.application().get_or_create(app_in, None).await.unwrap().id,
        a.id
    );
    let mut patch = ApplicationPatch::new();
    patch.name = Some("Renamed".into());
    assert_eq!(
        svix.application().patch(a.id.clone(), patch).await.unwrap().name,
        "Renamed"
    );

    // endpoints: everything, a filter (sent as `eventTypes` by this SDK), a channel
    let (all, paid, eu) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let ep_all = svix
        .endpoint()
        .create(a.id.clone(), EndpointIn::new(all.url("/")), None)
        .await
        .unwrap();
    let mut paid_in = EndpointIn::new(paid.url("/"));
    paid_in.event_types = set(&["invoice.paid"]);
    let ep_paid = svix.endpoint().create(a.id.clone(), paid_in, None).await.unwrap();
    assert_eq!(
        ep_paid.event_types,
        set(&["invoice.paid"]),
        "the SDK reads the filter back"
    );
    let mut eu_in = EndpointIn::new(eu.url("/"));
    eu_in.channels = set(&["eu"]);
    let ep_eu = svix.endpoint().create(a.id.clone(), eu_in, None).await.unwrap();
    svix.endpoint()
        .set_headers(
            a.id.clone(),
            ep_all.id.clone(),
            EndpointHeadersIn::new(BTreeMap::from([("X-From".to_string(), "rust".to_string())])),
        )
        .await
        .unwrap();
    let headers = svix
        .endpoint()
        .get_headers(a.id.clone(), ep_all.id.clone())
        .await
        .unwrap();
    assert_eq!(headers.headers.get("X-From").map(String::as_str), Some("rust"));
    let secret = svix
        .endpoint()
        .get_secret(a.id.clone(), ep_all.id.clone())
        .await
        .unwrap()
        .key;

    // messages really route
    let mut m = MessageIn::new("user.created".into(), serde_json::json!({"id": 1}));
    m.event_id = Some("rust-evt-1".into());
    m.tags = set(&["t1"]);
    let msg = svix.message().create(a.id.clone(), m, None).await.unwrap();
    let paid_msg = svix
        .message()
        .create(
            a.id.clone(),
            MessageIn::new("invoice.paid".into(), serde_json::json!({"amount": 7})),
            None,
        )
        .await
        .unwrap();
    let mut eu_m = MessageIn::new("user.created".into(), serde_json::json!({"id": 2}));
    eu_m.channels = set(&["eu"]);
    let eu_msg = svix.message().create(a.id.clone(), eu_m, None).await.unwrap();
    eventually(15, "the deliveries", || async {
        (all.count() == 3 && paid.count() == 1 && eu.count() == 1).then_some(())
    })
    .await;
    assert_eq!(paid.received()[0].msg_id(), paid_msg.id);
    assert_eq!(eu.received()[0].msg_id(), eu_msg.id);
    let wh = Webhook::new(&secret).unwrap();
    for r in all.received() {
        wh.verify(r.body.as_bytes(), &r.headers).unwrap();
        assert_eq!(r.header("x-from"), "rust");
    }

    // errors are the SDK's own, with the status
    let mut dup = MessageIn::new("user.created".into(), serde_json::json!({}));
    dup.event_id = Some("rust-evt-1".into());
    assert_eq!(
        status_of(svix.message().create(a.id.clone(), dup, None).await),
        409
    );
    let bad = MessageIn::new("not a name!".into(), serde_json::json!({}));
    assert_eq!(
        status_of(svix.message().create(a.id.clone(), bad, None).await),
        422
    );
    assert_eq!(status_of(svix.application().get("app_missing".into()).await), 404);

    // message lists, tags, attempts
    let tagged = svix
        .message()
        .list(
            a.id.clone(),
            Some(MessageListOptions {
                tag: Some("t1".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        tagged.data.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![msg.id.clone()]
    );
    eventually(15, "the attempt log", || async {
        let n = svix
            .message_attempt()
            .list_by_msg(a.id.clone(), msg.id.clone(), None)
            .await
            .ok()?
            .data
            .len();
        (n == 1).then_some(())
    })
    .await;
    let by_ep = svix
        .message_attempt()
        .list_by_endpoint(
            a.id.clone(),
            ep_all.id.clone(),
            Some(MessageAttemptListByEndpointOptions {
                with_msg: Some(true),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(by_ep.data.len(), 3);
    assert!(by_ep
        .data
        .iter()
        .all(|x| x.msg.as_ref().is_some_and(|m| m.id == x.msg_id)));
    let attempt = &by_ep.data[0];
    let got = svix
        .message_attempt()
        .get(a.id.clone(), attempt.msg_id.clone(), attempt.id.clone(), None)
        .await
        .unwrap();
    assert_eq!(got.endpoint_id, ep_all.id);
    let dests = svix
        .message_attempt()
        .list_attempted_destinations(a.id.clone(), msg.id.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        dests.data.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![ep_all.id.clone()]
    );

    // rotation: both keys sign the resent delivery
    svix.endpoint()
        .rotate_secret(
            a.id.clone(),
            ep_all.id.clone(),
            EndpointSecretRotateIn::new(),
            None,
        )
        .await
        .unwrap();
    let new_key = svix
        .endpoint()
        .get_secret(a.id.clone(), ep_all.id.clone())
        .await
        .unwrap()
        .key;
    assert_ne!(new_key, secret);
    svix.message_attempt()
        .resend(a.id.clone(), msg.id.clone(), ep_all.id.clone(), None)
        .await
        .unwrap();
    eventually(15, "the resent delivery", || async {
        (all.count() == 4).then_some(())
    })
    .await;
    let resent = all.received().pop().unwrap();
    wh.verify(resent.body.as_bytes(), &resent.headers).unwrap();
    Webhook::new(&new_key)
        .unwrap()
        .verify(resent.body.as_bytes(), &resent.headers)
        .unwrap();

    // recover and replay-missing are background tasks with results
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let rec = svix
        .endpoint()
        .recover(a.id.clone(), ep_all.id.clone(), RecoverIn::new(since), None)
        .await
        .unwrap();
    let rec_task = svix.background_task().get(rec.id.clone()).await.unwrap();
    assert!(matches!(rec_task.status, BackgroundTaskStatus::Finished));
    let late = Receiver::start().await;
    let mut late_in = EndpointIn::new(late.url("/"));
    late_in.event_types = set(&["invoice.paid"]);
    let ep_late = svix.endpoint().create(a.id.clone(), late_in, None).await.unwrap();
    let rep = svix
        .endpoint()
        .replay_missing(a.id.clone(), ep_late.id.clone(), ReplayIn::new(since), None)
        .await
        .unwrap();
    let rep_task = svix.background_task().get(rep.id.clone()).await.unwrap();
    assert_eq!(rep_task.data["messagesQueued"], 1);
    eventually(15, "the replayed message", || async {
        (late.count() == 1).then_some(())
    })
    .await;
    assert_eq!(late.received()[0].msg_id(), paid_msg.id);
    assert_eq!(svix.background_task().list(None).await.unwrap().data.len(), 2);

    // portal access, and the token as an app-scoped bearer
    let access = svix
        .authentication()
        .app_portal_access(a.id.clone(), AppPortalAccessIn::new(), None)
        .await
        .unwrap();
    assert!(access.token.starts_with("appsk_") && access.url.starts_with(&app.base));
    let scoped = Svix::new(
        access.token.clone(),
        Some(SvixOptions {
            server_url: Some(app.base.clone()),
            ..Default::default()
        }),
    );
    assert_eq!(
        scoped
            .endpoint()
            .list(a.id.clone(), None)
            .await
            .unwrap()
            .data
            .len(),
        4
    );
    let other = svix
        .application()
        .create(ApplicationIn::new("Other".into()), None)
        .await
        .unwrap();
    assert_eq!(
        status_of(scoped.endpoint().list(other.id.clone(), None).await),
        404
    );
    scoped.authentication().logout(None).await.unwrap();
    assert_eq!(status_of(scoped.endpoint().list(a.id.clone(), None).await), 401);

    // pagination both ways
    for i in 0..3 {
        svix.application()
            .create(ApplicationIn::new(format!("page-{i}")), None)
            .await
            .unwrap();
    }
    let page = |iterator: Option<String>| ApplicationListOptions {
        limit: Some(2),
        iterator,
        ..Default::default()
    };
    let first = svix.application().list(Some(page(None))).await.unwrap();
    assert_eq!(first.data.len(), 2);
    assert!(!first.done);
    let second = svix
        .application()
        .list(Some(page(first.iterator.clone())))
        .await
        .unwrap();
    assert!(second
        .data
        .iter()
        .all(|x| first.data.iter().all(|y| y.id != x.id)));
    let back = svix
        .application()
        .list(Some(page(second.prev_iterator.clone())))
        .await
        .unwrap();
    assert_eq!(
        back.data.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
        first.data.iter().map(|x| x.id.clone()).collect::<Vec<_>>()
    );

    // the SDK's raw-payload helper: delivered byte for byte, with its content type, signed
    let before = paid.count();
    let raw = MessageIn::new_raw_payload("invoice.paid".into(), "amount=7&currency=EUR ".into())
        .with_content_type("application/x-www-form-urlencoded".into());
    let raw_msg = svix.message().create(a.id.clone(), raw, None).await.unwrap();
    eventually(15, "the raw delivery", || async {
        (paid.count() == before + 1).then_some(())
    })
    .await;
    let got = paid.received().pop().unwrap();
    assert_eq!(
        (got.msg_id(), got.body.as_str(), got.header("content-type")),
        (
            raw_msg.id.as_str(),
            "amount=7&currency=EUR ",
            "application/x-www-form-urlencoded"
        )
    );
    let paid_secret = svix
        .endpoint()
        .get_secret(a.id.clone(), ep_paid.id.clone())
        .await
        .unwrap()
        .key;
    Webhook::new(&paid_secret)
        .unwrap()
        .verify(got.body.as_bytes(), &got.headers)
        .unwrap();

    // deletes
    svix.endpoint()
        .delete(a.id.clone(), ep_eu.id.clone())
        .await
        .unwrap();
    svix.application().delete(a.id.clone()).await.unwrap();
    assert_eq!(status_of(svix.application().get(a.id.clone()).await), 404);
}
