//! Test inboxes: the organisation's list, and one inbox with what it received (live), how it
//! answers, and which endpoints deliver to it.
use super::{field_error, CopyButton, PageSkeleton, SubmissionToken, Topbar};
use crate::inbox::{inbox_view, list_inboxes, CreateInbox, DeleteInbox, InboxPageData, SetInboxReply};
use crate::paths;
use domain::types::{InboxOut, InboxRequestOut, SignatureCheck};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn InboxesPage() -> impl IntoView {
    let create = ServerAction::<CreateInbox>::new();
    let inboxes = Resource::new(move || create.version().get(), |_| list_inboxes());
    let general = move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Test inboxes"</h1>
            <p class="lead">
                "A test inbox is a URL served by Hookline that records every request it gets: point an endpoint at it "
                "to watch deliveries, signatures and retries without a server of your own. Inboxes keep their last "
                "100 requests and expire after 7 days."
            </p>
            <super::RoleGate otherwise="You are a viewer here: you see the inboxes but cannot make or change them.">
            <ActionForm action=create attr:class="inline">
                <SubmissionToken version=create.version()/>
                <button type="submit" class="button" disabled=move || create.pending().get()>"New test inbox"</button>
            </ActionForm>
            </super::RoleGate>
            <p class="error" role="alert">{general}</p>
            <p class="hint">"To make one with an endpoint that delivers to it, use an application's " <em>"Testing"</em> " tab."</p>
            <Suspense fallback=|| view! { <PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match inboxes.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No test inboxes yet."</p>
                        }.into_any(),
                        Ok(list) => view! { <InboxTable list=list/> }.into_any(),
                        Err(e) => super::load_error(e, paths::Area::Developer),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn InboxTable(list: Vec<InboxOut>) -> impl IntoView {
    view! {
        <table class="list" aria-label="Test inboxes">
            <thead><tr><th>"Inbox URL"</th><th>"Answers"</th><th>"Expires"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|i| view! {
                    <tr>
                        <td><a href=paths::inbox(&i.id)><code>{i.url.clone()}</code></a></td>
                        <td>{reply_text(&i)}</td>
                        <td>{i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// "HTTP 200 at once", "HTTP 503 after 2000 ms".
pub fn reply_text(i: &InboxOut) -> String {
    if i.reply_delay_ms == 0 {
        format!("HTTP {} at once", i.reply_status)
    } else {
        format!("HTTP {} after {} ms", i.reply_status, i.reply_delay_ms)
    }
}

#[component]
pub fn InboxPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let reply = ServerAction::<SetInboxReply>::new();
    let (tick, set_tick) = signal(0u32);
    let view_data = Resource::new(
        move || (id(), reply.version().get(), tick.get()),
        |(id, _, _)| inbox_view(id),
    );
    // live: look for new requests every two seconds while the page is open
    Effect::new(move |_| {
        if let Some(Ok(_)) = view_data.get() {
            set_timeout(
                move || set_tick.update(|t| *t += 1),
                std::time::Duration::from_secs(2),
            );
        }
    });
    let role = super::role_resource();
    view! {
        <Topbar/>
        <main class="container">
            <p class="crumbs"><a href=paths::INBOXES>"Test inboxes"</a></p>
            <h1>"Test inbox"</h1>
            <Transition fallback=|| view! { <PageSkeleton title="Requests"/> }>
                {move || Suspend::new(async move {
                    match view_data.await {
                        Ok(v) => view! { <InboxDetail v=v reply=reply can=role.allows(domain::types::Role::Developer).await/> }.into_any(),
                        Err(e) => super::load_error(e, paths::Area::Developer),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn InboxDetail(v: InboxPageData, reply: ServerAction<SetInboxReply>, can: bool) -> impl IntoView {
    let delete = ServerAction::<DeleteInbox>::new();
    let i = v.inbox.clone();
    let (id_a, id_b) = (i.id.clone(), i.id.clone());
    view! {
        <section class="card">
            <p>"POST anything here, or point an endpoint here: "
                <code class="secret" data-testid="inbox-url">{i.url.clone()}</code> " " <CopyButton text=i.url.clone()/></p>
            <p class="muted">{format!("Answers {}. Expires {}.", reply_text(&i), i.expires_at.format("%Y-%m-%d %H:%M UTC"))}</p>
            {if v.endpoints.is_empty() {
                view! { <p class="muted">"No endpoint delivers here yet; add one with this URL, or use an application's Testing tab."</p> }.into_any()
            } else {
                view! {
                    <p>"Delivered to by: "
                        {v.endpoints.iter().map(|(app, e)| view! {
                            <a href=paths::Area::Developer.endpoint(app, &e.id)><code>{e.id.clone()}</code></a>" "
                        }).collect_view()}
                    </p>
                }.into_any()
            }}
            {can.then(|| view! {
            <details>
                <summary>"How it answers"</summary>
                <p class="muted">"Make it fail to watch retries, the circuit breaker and recovery; make it slow to watch timeouts."</p>
                <ActionForm action=reply attr:class="form inline-form" attr:novalidate=true>
                    <input type="hidden" name="id" value=id_a/>
                    <div class="field">
                        <label for="field-status">"Status"</label>
                        <input id="field-status" name="status" type="number" min="200" max="599" value=i.reply_status.to_string()
                            aria-describedby="field-status-error"/>
                        <p class="error" id="field-status-error" role="alert">{field_error(reply.value(), "status")}</p>
                    </div>
                    <div class="field">
                        <label for="field-delay_ms">"Delay (ms)"</label>
                        <input id="field-delay_ms" name="delay_ms" type="number" min="0" max="30000" value=i.reply_delay_ms.to_string()
                            aria-describedby="field-delay_ms-error"/>
                        <p class="error" id="field-delay_ms-error" role="alert">{field_error(reply.value(), "delay_ms")}</p>
                    </div>
                    <button type="submit" class="button secondary" disabled=move || reply.pending().get()>"Save"</button>
                </ActionForm>
            </details>
            })}
        </section>
        <section class="card">
            <h2>{format!("Requests ({})", v.requests.len())}</h2>
            {if v.requests.is_empty() {
                view! { <p class="empty" aria-live="polite">"Nothing yet. This page shows each request as it arrives."</p> }.into_any()
            } else {
                view! {
                    <ul class="requests" aria-live="polite">
                        {v.requests.into_iter().map(|r| view! { <RequestItem r=r/> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        {can.then(|| view! {
            <ActionForm action=delete attr:class="inline">
                <input type="hidden" name="id" value=id_b/>
                <button type="submit" class="button danger small">"Delete this inbox"</button>
            </ActionForm>
        })}
    }
}

/// The signature check, in a badge.
pub fn signature_badge(s: SignatureCheck) -> impl IntoView {
    let (class, text) = match s {
        SignatureCheck::Valid => ("badge ok", "signature valid"),
        SignatureCheck::Invalid => ("badge fail", "signature does not match"),
        SignatureCheck::Unsigned => ("badge", "unsigned"),
        SignatureCheck::Truncated => ("badge", "body too long to check"),
    };
    view! { <span class=class data-testid="signature">{text}</span> }
}

#[component]
fn RequestItem(r: InboxRequestOut) -> impl IntoView {
    let answered = if (200..300).contains(&r.answered) {
        "badge ok"
    } else {
        "badge fail"
    };
    let via = if r.endpoint_id.is_some() {
        "delivered by Hookline"
    } else {
        "over HTTP"
    };
    view! {
        <li class="request">
            <p>
                <strong>{r.method.clone()}</strong> " "
                {r.received_at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()} " · "
                <span class=answered>{format!("answered {}", r.answered)}</span> " "
                {signature_badge(r.signature)} " "
                <span class="muted">{via}</span>
                {r.msg_id.clone().map(|m| view! { " · " <code>{m}</code> })}
            </p>
            <details>
                <summary>"Headers and body"</summary>
                <table class="kv" aria-label="Request headers">
                    <tbody>
                        {r.headers.into_iter().map(|(k, v)| view! { <tr><th scope="row">{k}</th><td><code>{v}</code></td></tr> }).collect_view()}
                    </tbody>
                </table>
                <pre class="body">{r.body.clone()}</pre>
                {r.body_truncated.then(|| view! { <p class="muted">"(the body was longer; the first 64 KiB are kept)"</p> })}
            </details>
        </li>
    }
}
