//! The first-run path on one screen (see `onboarding`): four steps, each done in one click
//! with what is already filled in, and the delivery shown as it arrives.
use super::{field_error, PageSkeleton, SubmissionToken, Topbar};
use crate::onboarding::{
    sample_payload, welcome_progress, Progress, Sent, WelcomeAddEndpoint, WelcomeCreateApp, WelcomeSend,
    WelcomeUseInbox, FIRST_EVENT_TYPE,
};
use crate::paths;
use domain::types::{MessageStatus, SignatureCheck};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn WelcomePage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let (tick, set_tick) = signal(0u32);
    let progress = Resource::new(
        move || {
            (
                param("app"),
                param("endpoint"),
                param("inbox"),
                param("msg"),
                tick.get(),
            )
        },
        |(app, endpoint, inbox, msg, _)| welcome_progress(app, endpoint, inbox, msg),
    );
    // watch the delivery until it settles
    Effect::new(move |_| {
        if let Some(Ok(p)) = progress.get() {
            if !p.settled() {
                set_timeout(
                    move || set_tick.update(|t| *t += 1),
                    std::time::Duration::from_millis(700),
                );
            }
        }
    });
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Send your first webhook"</h1>
            <p class="lead">"Four steps, about a minute, no server of your own needed."</p>
            <super::RoleGate otherwise="You are a viewer in this organisation: the guide makes an application and an endpoint, which a viewer cannot. Look around the applications instead.">
            <Transition fallback=|| view! { <PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match progress.await {
                        Ok(p) => view! { <Steps p=p/> }.into_any(),
                        Err(e) => super::load_error(e, paths::Area::Developer),
                    }
                })}
            </Transition>
            </super::RoleGate>
        </main>
    }
}

/// A step's heading, with its number or a tick once it is done.
#[component]
fn StepHead(n: u8, title: &'static str, done: bool) -> impl IntoView {
    view! {
        <h2 class="step-head">
            <span class=if done { "step-n done" } else { "step-n" } aria-hidden="true">
                {if done { "✓".to_string() } else { n.to_string() }}
            </span>
            {title}
            {done.then(|| view! { <span class="sr-only">" (done)"</span> })}
        </h2>
    }
}

#[component]
fn Steps(p: Progress) -> impl IntoView {
    let create = ServerAction::<WelcomeCreateApp>::new();
    let use_inbox = ServerAction::<WelcomeUseInbox>::new();
    let add = ServerAction::<WelcomeAddEndpoint>::new();
    let send = ServerAction::<WelcomeSend>::new();
    let app_id = p.app.as_ref().map(|a| a.id.clone());
    let ep_id = p.endpoint.as_ref().map(|e| e.id.clone());
    let inbox_id = p.inbox.as_ref().map(|i| i.id.clone());
    let first_type = p
        .event_types
        .first()
        .cloned()
        .unwrap_or_else(|| FIRST_EVENT_TYPE.to_string());
    let types = p.event_types.clone();
    let general = |e: Option<crate::error::PortalError>| e.and_then(|e| e.general());
    let sent = p.sent.is_some();
    let inbox_field = inbox_id.clone().unwrap_or_default();
    view! {
        <ol class="steps">
            <li class="step" class:current=p.app.is_none()>
                <StepHead n=1 title="Name your application" done=p.app.is_some()/>
                {match &p.app {
                    Some(a) => view! {
                        <p>"Application " <strong>{a.name.clone()}</strong> " " <code>{a.id.clone()}</code>
                           ": your backend sends its events here (one per customer of yours, typically)."</p>
                    }.into_any(),
                    None => view! {
                        <p class="muted">"An application groups the endpoints that receive one stream of events."</p>
                        <ActionForm action=create attr:class="form inline-form" attr:novalidate=true>
                            <SubmissionToken version=create.version()/>
                            <div class="field">
                                <label for="field-name">"Application name"</label>
                                <input id="field-name" name="name" value="My first application" required=true
                                    aria-describedby="field-name-error"/>
                                <p class="error" id="field-name-error" role="alert">{field_error(create.value(), "name")}</p>
                            </div>
                            <p class="error" role="alert">{move || general(create.value().get().and_then(|r| r.err()))}</p>
                            <button type="submit" class="button" disabled=move || create.pending().get()>"Create application"</button>
                        </ActionForm>
                    }.into_any(),
                }}
            </li>

            <li class="step" class:current=p.app.is_some() && p.endpoint.is_none() class:later=p.app.is_none()>
                <StepHead n=2 title="Add an endpoint" done=p.endpoint.is_some()/>
                {match (&p.app, &p.endpoint) {
                    (_, Some(e)) => view! {
                        <p>{if p.inbox.is_some() { "A test inbox, served by Hookline: " } else { "Your endpoint: " }}
                           <code>{e.url.clone()}</code></p>
                    }.into_any(),
                    (Some(a), None) => {
                        let (app_a, app_b) = (a.id.clone(), a.id.clone());
                        view! {
                            <p class="muted">"Where Hookline delivers, signed. No server handy? A test inbox records what arrives and shows it here."</p>
                            <ActionForm action=use_inbox attr:class="inline">
                                <SubmissionToken version=use_inbox.version()/>
                                <input type="hidden" name="app" value=app_a/>
                                <button type="submit" class="button" disabled=move || use_inbox.pending().get()>"Use a test inbox"</button>
                            </ActionForm>
                            <p class="error" role="alert">{move || general(use_inbox.value().get().and_then(|r| r.err()))}</p>
                            <details class="or">
                                <summary>"Or use a URL of your own"</summary>
                                <ActionForm action=add attr:class="form" attr:novalidate=true>
                                    <SubmissionToken version=add.version()/>
                                    <input type="hidden" name="app" value=app_b/>
                                    <div class="field">
                                        <label for="field-url">"Endpoint URL"</label>
                                        <input id="field-url" name="url" type="url" placeholder="https://example.com/webhooks"
                                            aria-describedby="field-url-error"/>
                                        <p class="error" id="field-url-error" role="alert">{field_error(add.value(), "url")}</p>
                                    </div>
                                    <button type="submit" class="button secondary" disabled=move || add.pending().get()>"Add endpoint"</button>
                                </ActionForm>
                            </details>
                        }.into_any()
                    }
                    (None, None) => view! { <p class="muted">"Where Hookline delivers: your URL, or a test inbox."</p> }.into_any(),
                }}
            </li>

            <li class="step" class:current=p.endpoint.is_some() && !sent class:later=p.endpoint.is_none()>
                <StepHead n=3 title="Send a test event" done=p.sent.is_some()/>
                {match (&app_id, &ep_id) {
                    (Some(app), Some(ep)) => {
                        let (app, ep) = (app.clone(), ep.clone());
                        view! {
                            <ActionForm action=send attr:class="form" attr:novalidate=true>
                                <SubmissionToken version=send.version()/>
                                <input type="hidden" name="app" value=app/>
                                <input type="hidden" name="endpoint" value=ep/>
                                <input type="hidden" name="inbox" value=inbox_field.clone()/>
                                <div class="field">
                                    <label for="field-event_type">"Event type"</label>
                                    <input id="field-event_type" name="event_type" value=first_type.clone() list="event-type-names"
                                        aria-describedby="field-event_type-hint field-event_type-error"/>
                                    <datalist id="event-type-names">
                                        {types.iter().map(|t| view! { <option value=t.clone()/> }).collect_view()}
                                    </datalist>
                                    <p class="hint" id="field-event_type-hint">"Any name will do; your event-type catalogue is optional."</p>
                                    <p class="error" id="field-event_type-error" role="alert">{field_error(send.value(), "event_type")}</p>
                                </div>
                                <details>
                                    <summary>"Payload"</summary>
                                    <div class="field">
                                        <label for="field-payload">"Payload (JSON)"</label>
                                        <textarea id="field-payload" name="payload" rows="4" aria-describedby="field-payload-error">{sample_payload()}</textarea>
                                    </div>
                                </details>
                                <p class="error" id="field-payload-error" role="alert">{field_error(send.value(), "payload")}</p>
                                <p class="error" role="alert">{move || general(send.value().get().and_then(|r| r.err()))}</p>
                                <button type="submit" class="button" disabled=move || send.pending().get()>
                                    {if sent { "Send another" } else { "Send test event" }}
                                </button>
                            </ActionForm>
                        }.into_any()
                    }
                    _ => view! { <p class="muted">"Any event name and a JSON payload; a sample is filled in."</p> }.into_any(),
                }}
            </li>

            <li class="step" class:current=p.sent.is_some() class:later=p.sent.is_none()>
                <StepHead n=4 title="See it arrive"
                    done=p.sent.as_ref().is_some_and(|s| s.status == MessageStatus::Success)/>
                {match (&p.sent, &app_id) {
                    (Some(s), Some(app)) => view! { <Arrival s=s.clone() app=app.clone() inbox=inbox_id.clone()/> }.into_any(),
                    _ => view! { <p class="muted">"The delivery shows here as it happens: signed, timed, and checked."</p> }.into_any(),
                }}
            </li>
        </ol>
    }
}

/// How the test event's delivery went, updating until it settles.
#[component]
fn Arrival(s: Sent, app: String, inbox: Option<String>) -> impl IntoView {
    let timeline = paths::message(&app, &s.msg_id);
    let outcome = match (s.status, s.last) {
        (MessageStatus::Success, Some((code, ms))) => view! {
            <p class="ok big" role="status" data-testid="first-delivery">
                {format!("Delivered: HTTP {code} in {ms} ms.")}
            </p>
        }
        .into_any(),
        (MessageStatus::Fail, last) => view! {
            <p class="error" role="status">
                {format!("Not delivered: {}. ", last.map(|(c, _)| if c == 0 { "no answer".to_string() } else { format!("HTTP {c}") }).unwrap_or_default())}
                "Its timeline says why."
            </p>
        }
        .into_any(),
        (_, Some((code, _))) => view! {
            <p class="pending" role="status">{format!("Attempt {} answered {}; retrying on schedule.", s.attempts, if code == 0 { "nothing".to_string() } else { format!("HTTP {code}") })}</p>
        }
        .into_any(),
        _ => view! { <p class="pending" role="status" aria-busy="true">"Sending now…"</p> }.into_any(),
    };
    let received = s.received.clone().map(|r| {
        let (class, text) = match r.signature {
            SignatureCheck::Valid => ("badge ok", "signature valid"),
            SignatureCheck::Invalid => ("badge fail", "signature does not match"),
            SignatureCheck::Unsigned => ("badge fail", "unsigned"),
            SignatureCheck::Truncated => ("badge", "body too long to check"),
        };
        view! {
            <div class="received">
                <p>"The test inbox received it at " {r.received_at.format("%H:%M:%S UTC").to_string()} ": "
                    <span class=class data-testid="signature">{text}</span></p>
                <pre class="body">{r.body.clone()}</pre>
            </div>
        }
    });
    view! {
        {outcome}
        {received}
        <p class="next-steps">
            <a href=timeline>"Its delivery timeline"</a>
            {inbox.map(|i| view! { " · " <a href=paths::inbox(&i)>"The test inbox"</a> })}
            " · " <a href=paths::app(&app)>"Your application"</a>
            " · " <a href=paths::API_KEYS>"An API key for your backend"</a>
        </p>
    }
}
