//! One application: its endpoints (add more), a test-event sender, and its recent messages.
use super::{field_error, CopyButton, Field, Topbar};
use crate::api::ConsumerPortalLink;
use crate::catalog::{
    app_overview, example_payload, AddEndpoint, AppDashboard, RevealSecret, RotateSecret, SendTestEvent,
    SigningSecrets,
};
use crate::paths::Area;
use domain::types::EndpointOut;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn AppDetailPage(#[prop(optional)] area: Area) -> impl IntoView {
    let params = use_params_map();
    let app_id = move || params.read().get("id").unwrap_or_default();
    let add = ServerAction::<AddEndpoint>::new();
    let send = ServerAction::<SendTestEvent>::new();
    let overview = Resource::new(
        move || (app_id(), add.version().get(), send.version().get()),
        |(id, _, _)| app_overview(id),
    );
    view! {
        <Topbar area/>
        <main class="container">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! { <Overview o=o add=add send=send area/> }.into_any(),
                        Err(e) => super::load_error(e, area),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Overview(
    o: AppDashboard,
    add: ServerAction<AddEndpoint>,
    send: ServerAction<SendTestEvent>,
    area: Area,
) -> impl IntoView {
    let app_id = o.app.id.clone();
    let share = ServerAction::<ConsumerPortalLink>::new();
    let shared = move || share.value().get().and_then(|r| r.ok());
    let add_result = add.value();
    let send_result = send.value();
    let add_general = move || add_result.get().and_then(|r| r.err()).and_then(|e| e.general());
    let send_general = move || send_result.get().and_then(|r| r.err()).and_then(|e| e.general());
    let sent = move || send_result.get().and_then(|r| r.ok());
    let types = o.event_types.clone();
    let first_example = types.first().map(example_payload).unwrap_or_else(|| "{}".into());
    let (payload, set_payload) = signal(first_example);
    let form_types = types.clone();
    let (app_for_add, app_for_send) = (app_id.clone(), app_id);
    let send_targets: Vec<(String, String)> = o
        .endpoints
        .iter()
        .map(|e| (e.id.clone(), e.url.clone()))
        .collect();
    let examples: Vec<(String, String)> = types
        .iter()
        .map(|t| (t.name.clone(), example_payload(t)))
        .collect();
    view! {
        <h1>{o.app.name.clone()}</h1>
        <p class="muted"><code>{o.app.id.clone()}</code>{o.app.uid.clone().map(|u| format!("  uid: {u}"))}</p>
        {o.read_only.then(super::ReadOnlyNotice)}
        <section class="card">
            <h2>"Endpoints"</h2>
            {if o.endpoints.is_empty() {
                view! { <p class="empty">"No endpoints yet: add the URL that should receive this application's webhooks."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Endpoints">
                        <thead><tr><th>"URL"</th><th>"Event types"</th><th>"Rate limit"</th><th>"State"</th></tr></thead>
                        <tbody>
                            {o.endpoints.iter().map(|e| view! {
                                <tr>
                                    <td><a href=area.endpoint(&o.app.id, &e.id)><code>{e.url.clone()}</code></a><br/><span class="muted">{e.description.clone()}</span></td>
                                    <td>{e.event_types.clone().map(|t| t.join(", ")).unwrap_or_else(|| "all".into())}</td>
                                    <td>{e.throttle_rate.map(|r| format!("{r}/s")).unwrap_or_else(|| "none".into())}</td>
                                    <td>{health_badge(o.health.iter().find(|(id, _)| *id == e.id).map(|(_, h)| h))}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {(!o.endpoints.is_empty()).then(|| view! { <SecretsPanel app=o.app.id.clone() endpoints=o.endpoints.clone() read_only=o.read_only/> })}
            {(!o.read_only).then(|| view! {
            <h3>"Add an endpoint"</h3>
            <ActionForm action=add attr:class="form" attr:novalidate=true>
                <input type="hidden" name="app" value=app_for_add/>
                <Field label="URL" name="url" kind="url" required=true hint="Where Hookline will POST signed webhooks."
                    error=Signal::derive(field_error(add_result, "url"))/>
                <Field label="Description" name="description" error=Signal::derive(field_error(add_result, "description"))/>
                <fieldset class="field">
                    <legend>"Event types (none ticked: all)"</legend>
                    {form_types.iter().enumerate().map(|(i, t)| view! {
                        <label class="check"><input type="checkbox" name=format!("event_types[{i}]") value=t.name.clone()/>{t.name.clone()}</label>
                    }).collect_view()}
                    <p class="error" role="alert">{field_error(add_result, "event_types")}</p>
                </fieldset>
                <Field label="Channels (comma-separated, optional)" name="channels" error=Signal::derive(field_error(add_result, "channels"))/>
                <Field label="Rate limit (messages per second, optional)" name="rate_limit" error=Signal::derive(field_error(add_result, "rate_limit"))/>
                <HeadersField error=Signal::derive(field_error(add_result, "headers")) value=String::new()/>
                <p class="error" role="alert">{add_general}</p>
                <button type="submit" class="button" disabled=move || add.pending().get()>"Add endpoint"</button>
            </ActionForm>
            })}
        </section>

        {(!o.read_only).then(move || view! {
        <section class="card">
            <h2>"Send a test event"</h2>
            {if types.is_empty() {
                match area {
                    Area::Developer => view! { <p class="empty">"Create an event type first, on the " <a href=crate::paths::EVENT_TYPES>"event types page"</a> "."</p> }.into_any(),
                    Area::Consumer => view! { <p class="empty">"No event types are defined yet."</p> }.into_any(),
                }
            } else {
                view! {
                    <ActionForm action=send attr:class="form" attr:novalidate=true>
                        <input type="hidden" name="app" value=app_for_send/>
                        <input type="hidden" name="area" value=area_value(area)/>
                        <div class="field">
                            <label for="field-event_type">"Event type"</label>
                            <select id="field-event_type" name="event_type" on:change=move |ev| {
                                let name = event_target_value(&ev);
                                if let Some((_, ex)) = examples.iter().find(|(n, _)| *n == name) {
                                    set_payload.set(ex.clone());
                                }
                            }>
                                {types.iter().map(|t| view! { <option value=t.name.clone()>{t.name.clone()}</option> }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="field-endpoint">"Send to"</label>
                            <select id="field-endpoint" name="endpoint">
                                // a consumer tests its endpoints one at a time
                                {(area == Area::Developer).then(|| view! { <option value="">"Every subscribed endpoint"</option> })}
                                {send_targets.iter().map(|(id, url)| view! { <option value=id.clone()>{format!("Only {url}")}</option> }).collect_view()}
                            </select>
                            <p class="error" role="alert">{field_error(send_result, "endpoint")}</p>
                        </div>
                        <div class="field">
                            <label for="field-payload">"Payload (JSON)"</label>
                            <textarea id="field-payload" name="payload" rows="6" prop:value=payload
                                aria-describedby="field-payload-error"
                                on:input=move |ev| set_payload.set(event_target_value(&ev))>{payload.get_untracked()}</textarea>
                            <p class="error" id="field-payload-error" role="alert">{field_error(send_result, "payload")}</p>
                        </div>
                        <p class="error" role="alert">{send_general}</p>
                        <button type="submit" class="button" disabled=move || send.pending().get()>"Send test event"</button>
                    </ActionForm>
                    {move || sent().map(|m| view! { <p role="status" class="ok">"Sent " <code>{m.id}</code> "."</p> })}
                }.into_any()
            }}
        </section>
        })}

        <section class="card">
            <h2>"Recent messages"</h2>
            <p><a href=area.messages(&o.app.id)>"Message log: filter, search and page through every message →"</a></p>
            {let app_link = o.app.id.clone(); if o.messages.is_empty() {
                view! { <p class="empty">"No messages yet."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Messages">
                        <thead><tr><th>"Message"</th><th>"Event type"</th><th>"Sent"</th><th>"Deliveries"</th></tr></thead>
                        <tbody>
                            {o.messages.into_iter().map(|m| view! {
                                <tr>
                                    <td><a href=area.message(&app_link, &m.message.id)><code>{m.message.id.clone()}</code></a></td>
                                    <td>{m.message.event_type.clone()}</td>
                                    <td>{m.message.timestamp.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                                    <td>
                                        {(m.succeeded > 0).then(|| view! { <span class="badge ok">{format!("{} succeeded", m.succeeded)}</span> })}
                                        {(m.pending > 0).then(|| view! { <span class="badge pending">{format!("{} pending", m.pending)}</span> })}
                                        {(m.failed > 0).then(|| view! { <span class="badge fail">{format!("{} failed", m.failed)}</span> })}
                                        {(m.succeeded + m.pending + m.failed == 0).then(|| view! { <span class="muted">"no endpoints"</span> })}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>

        {(area == Area::Developer).then(|| {
            let (open_app, share_app) = (o.app.id.clone(), o.app.id.clone());
            view! {
                <section class="card consumer">
                    <h2>"Consumer portal"</h2>
                    <p class="muted">"Your customer's own view of this application: their endpoints, secrets, deliveries and replays, without an account. Links are valid for one hour."</p>
                    <form method="post" action="/_fn/open_consumer_portal" target="_blank" class="inline">
                        <input type="hidden" name="app" value=open_app/>
                        <button type="submit" class="button">"Open consumer portal"</button>
                    </form>
                    " "
                    <ActionForm action=share attr:class="inline">
                        <input type="hidden" name="app" value=share_app/>
                        <label class="check"><input type="checkbox" name="read_only" value="true"/>"Read-only"</label>
                        " "
                        <button type="submit" class="button secondary">"Get a link to share"</button>
                    </ActionForm>
                    {move || shared().map(|url| view! {
                        <p role="status">"Link: " <code class="secret" data-testid="portal-link">{url.clone()}</code> " "
                            <CopyButton text=url/>
                        </p>
                    })}
                </section>
            }
        })}

    }
}

/// Signing secrets, hidden until asked for; rotation explains the grace period.
#[component]
pub fn SecretsPanel(
    app: String,
    endpoints: Vec<EndpointOut>,
    #[prop(optional)] read_only: bool,
) -> impl IntoView {
    let reveal = ServerAction::<RevealSecret>::new();
    let rotate = ServerAction::<RotateSecret>::new();
    let shown = move || {
        let r = rotate.value().get().and_then(|r| r.ok());
        r.or_else(|| reveal.value().get().and_then(|r| r.ok()))
    };
    view! {
        <h3>"Signing secrets"</h3>
        <p class="muted">"Receivers verify each webhook with the endpoint's secret (Standard Webhooks)."</p>
        <ul class="secrets">
            {endpoints.into_iter().map(|e| {
                let (app_a, app_b) = (app.clone(), app.clone());
                let (ep_a, ep_b) = (e.id.clone(), e.id.clone());
                let id = e.id.clone();
                view! {
                    <li>
                        <code>{e.url.clone()}</code>
                        <ActionForm action=reveal attr:class="inline">
                            <input type="hidden" name="app" value=app_a/>
                            <input type="hidden" name="endpoint" value=ep_a/>
                            <button type="submit" class="button small">"Reveal"</button>
                        </ActionForm>
                        " "
                        {(!read_only).then(|| view! {
                            <ActionForm action=rotate attr:class="inline">
                                <input type="hidden" name="app" value=app_b/>
                                <input type="hidden" name="endpoint" value=ep_b/>
                                <button type="submit" class="button small secondary">"Rotate"</button>
                            </ActionForm>
                        })}
                        {move || shown().filter(|s: &SigningSecrets| s.endpoint_id == id).map(|s| view! { <SecretView s=s/> })}
                    </li>
                }
            }).collect_view()}
        </ul>
        {(!read_only).then(|| view! { <p class="hint">"Rotating makes a new secret at once; the old one keeps signing for 24 hours, so receivers can switch without missing a webhook."</p> })}
    }
}

#[component]
fn SecretView(s: SigningSecrets) -> impl IntoView {
    view! {
        <div class="secret-box" role="status">
            <p>"Current secret: " <code class="secret" data-testid="current-secret">{s.current.clone()}</code> " "
                <CopyButton text=s.current.clone()/>
            </p>
            {s.previous.map(|(k, until)| view! {
                <p>"Previous secret, still signing until " {until.format("%Y-%m-%d %H:%M UTC").to_string()} ": "
                    <code class="secret" data-testid="previous-secret">{k}</code></p>
            })}
            <details>
                <summary>"Verify in your code"</summary>
                <pre>{format!("# Python (pip install standardwebhooks)\nfrom standardwebhooks.webhooks import Webhook\nWebhook(\"{0}\").verify(body, headers)\n\n// Node (npm install standardwebhooks)\nimport {{ Webhook }} from \"standardwebhooks\";\nnew Webhook(\"{1}\").verify(body, headers);\n\n// Rust: v1,base64(HMAC-SHA256(key, \"{{id}}.{{timestamp}}.{{body}}\")), key = base64-decoded secret after whsec_", s.current, s.current.trim_start_matches("whsec_"))}</pre>
            </details>
        </div>
    }
}

/// The value of a hidden `area` input, as server functions read it.
pub fn area_value(area: Area) -> &'static str {
    match area {
        Area::Developer => "developer",
        Area::Consumer => "consumer",
    }
}

/// Custom headers, one `Name: value` per line.
#[component]
pub fn HeadersField(#[prop(into)] error: Signal<Option<String>>, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <label for="field-headers">"Custom headers (optional, one \"Name: value\" per line)"</label>
            <textarea id="field-headers" name="headers" rows="3" aria-describedby="field-headers-error"
                placeholder="X-Team: billing">{value}</textarea>
            <p class="error" id="field-headers-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

/// An endpoint's state in a word or two: disabled, paused by its circuit breaker, probing,
/// failing, or healthy.
pub fn health_badge(h: Option<&domain::types::EndpointHealth>) -> impl IntoView {
    use domain::types::BreakerState;
    let (class, text, title) = match h {
        None => ("badge", "unknown".to_string(), String::new()),
        Some(h) if h.disabled => (
            "badge fail",
            "disabled".to_string(),
            h.disabled_reason.clone().unwrap_or_default(),
        ),
        Some(h) => match h.breaker {
            BreakerState::Open(until) => (
                "badge fail",
                format!("paused until {}", until.format("%H:%M:%S UTC")),
                format!("{} failures in a row", h.consecutive_failures),
            ),
            BreakerState::Probing => ("badge pending", "probing".to_string(), String::new()),
            BreakerState::Closed if h.consecutive_failures > 0 => (
                "badge pending",
                format!("failing ({} in a row)", h.consecutive_failures),
                String::new(),
            ),
            BreakerState::Closed => ("badge ok", "healthy".to_string(), String::new()),
        },
    };
    view! { <span class=class title=title>{text}</span> }
}
