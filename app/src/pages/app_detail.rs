//! One application, in tabs: its endpoints (add more, signing secrets), testing (a test event,
//! test inboxes), its messages, the consumer portal, and its settings. The tab is in the
//! address (`?tab=`), so every tab is a link and works without JavaScript.
use super::app_testing::TestingTab;
use super::{field_error, reset_on_success, CopyButton, Field, PageSkeleton, SubmissionToken, Topbar};
use crate::api::{ConsumerPortalLink, DeleteApp, UpdateApp};
use crate::catalog::{app_overview, AddEndpoint, AppDashboard, RevealSecret, RotateSecret, SigningSecrets};
use crate::paths::Area;
use domain::types::EndpointOut;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The tabs of an application's page, as named in the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Endpoints,
    Testing,
    Messages,
    Portal,
    Settings,
}

impl Tab {
    pub fn parse(s: &str) -> Self {
        match s {
            "testing" => Self::Testing,
            "messages" => Self::Messages,
            "portal" => Self::Portal,
            "settings" => Self::Settings,
            _ => Self::Endpoints,
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Self::Endpoints => "endpoints",
            Self::Testing => "testing",
            Self::Messages => "messages",
            Self::Portal => "portal",
            Self::Settings => "settings",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Self::Endpoints => "Endpoints",
            Self::Testing => "Testing",
            Self::Messages => "Messages",
            Self::Portal => "Consumer portal",
            Self::Settings => "Settings",
        }
    }
    /// The tabs a viewer has: a consumer sees its endpoints, testing and messages only.
    fn all(area: Area) -> &'static [Tab] {
        match area {
            Area::Developer => &[
                Tab::Endpoints,
                Tab::Testing,
                Tab::Messages,
                Tab::Portal,
                Tab::Settings,
            ],
            Area::Consumer => &[Tab::Endpoints, Tab::Testing, Tab::Messages],
        }
    }
}

#[component]
pub fn AppDetailPage(#[prop(optional)] area: Area) -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let app_id = move || params.read().get("id").unwrap_or_default();
    let tab = move || {
        let t = Tab::parse(&query.read().get("tab").unwrap_or_default());
        if Tab::all(area).contains(&t) {
            t
        } else {
            Tab::Endpoints
        }
    };
    let add = ServerAction::<AddEndpoint>::new();
    let inbox = ServerAction::<crate::inbox::CreateTestInbox>::new();
    let settings = ServerAction::<UpdateApp>::new();
    let overview = Resource::new(
        move || {
            (
                app_id(),
                add.version().get(),
                inbox.version().get(),
                settings.version().get(),
            )
        },
        |(id, ..)| app_overview(id),
    );
    view! {
        <Topbar area/>
        <main class="container">
            <Suspense fallback=|| view! { <h1>"Application"</h1> <PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! { <AppView o=o tab=tab() add inbox settings area/> }.into_any(),
                        Err(e) => super::load_error(e, area),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn AppView(
    o: AppDashboard,
    tab: Tab,
    add: ServerAction<AddEndpoint>,
    inbox: ServerAction<crate::inbox::CreateTestInbox>,
    settings: ServerAction<UpdateApp>,
    area: Area,
) -> impl IntoView {
    let base = area.app(&o.app.id);
    let body = match tab {
        Tab::Endpoints => view! { <EndpointsTab o=o.clone() add area/> }.into_any(),
        Tab::Testing => view! { <TestingTab o=o.clone() inbox area/> }.into_any(),
        Tab::Messages => view! { <MessagesTab o=o.clone() area/> }.into_any(),
        // a viewer neither hands out portal links nor changes settings
        Tab::Portal | Tab::Settings if o.read_only => view! {
            <section class="card"><p class="muted">"A viewer sees this application's endpoints, messages and deliveries; its consumer portal links and settings are for developers and admins."</p></section>
        }.into_any(),
        Tab::Portal => view! { <PortalTab app=o.app.id.clone()/> }.into_any(),
        Tab::Settings => view! { <SettingsTab o=o.clone() settings/> }.into_any(),
    };
    view! {
        <h1>{o.app.name.clone()}</h1>
        <p class="muted"><code>{o.app.id.clone()}</code>{o.app.uid.clone().map(|u| format!("  uid: {u}"))}</p>
        {o.read_only.then(|| super::read_only_notice(area))}
        <nav class="tabs" aria-label="Application">
            {Tab::all(area).iter().map(|t| {
                let current = *t == tab;
                view! {
                    <a href=format!("{base}?tab={}", t.slug()) class:current=current
                        aria-current=if current { "page" } else { "false" }>{t.label()}</a>
                }
            }).collect_view()}
        </nav>
        {body}
    }
}

/// Links each endpoint's URL to its page; a test inbox's is marked as one.
#[component]
fn EndpointsTab(o: AppDashboard, add: ServerAction<AddEndpoint>, area: Area) -> impl IntoView {
    let app_id = o.app.id.clone();
    let add_result = add.value();
    let add_general = move || add_result.get().and_then(|r| r.err()).and_then(|e| e.general());
    let added = move || add_result.get().and_then(|r| r.ok());
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(add, form);
    let testing = area.app(&o.app.id) + "?tab=testing";
    view! {
        <section class="card">
            <h2>"Endpoints"</h2>
            {if o.endpoints.is_empty() {
                view! {
                    <p class="empty">"No endpoints yet. Add the URL that should receive this application's webhooks"
                        {(!o.read_only).then_some(" below")} "."
                        {(area == Area::Developer).then(|| view! {
                            " To try it without a server of your own, make a test inbox on the " <a href=testing.clone()>"Testing tab"</a> "."
                        })}
                    </p>
                }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Endpoints">
                        <thead><tr><th>"URL"</th><th>"Event types"</th><th>"Rate limit"</th><th>"State"</th></tr></thead>
                        <tbody>
                            {o.endpoints.iter().map(|e| view! {
                                <tr>
                                    <td><a href=area.endpoint(&o.app.id, &e.id)><code>{e.url.clone()}</code></a>
                                        {o.inboxes.iter().any(|(ep, _)| *ep == e.id).then(|| view! { " " <span class="badge">"test inbox"</span> })}
                                        <br/><span class="muted">{e.description.clone()}</span></td>
                                    <td>{e.event_types.clone().map(|t| t.join(", ")).unwrap_or_else(|| "all".into())}
                                        {e.filter.clone().map(|f| view! {
                                            <br/><span class="muted">"only if "<code title=f.clone()>{short_filter(&f)}</code></span>
                                        })}</td>
                                    <td>{e.throttle_rate.map(|r| format!("{r}/s")).unwrap_or_else(|| "none".into())}</td>
                                    <td>{health_badge(o.health.iter().find(|(id, _)| *id == e.id).map(|(_, h)| h))}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <SecretsPanel app=o.app.id.clone() endpoints=o.endpoints.clone() read_only=o.read_only/>
                }.into_any()
            }}
        </section>
        {(!o.read_only).then(|| view! {
            <section class="card">
                <h2>"Add an endpoint"</h2>
                <ActionForm action=add node_ref=form attr:class="form" attr:novalidate=true>
                    <SubmissionToken version=add.version()/>
                    <input type="hidden" name="app" value=app_id/>
                    <Field label="URL" name="url" kind="url" required=true hint="Where Hookline will POST signed webhooks."
                        error=Signal::derive(field_error(add_result, "url"))/>
                    <Field label="Description" name="description" error=Signal::derive(field_error(add_result, "description"))/>
                    <fieldset class="field">
                        <legend>"Event types"</legend>
                        {if o.event_types.is_empty() {
                            view! { <p class="hint">"It will receive every event type. (To filter by type, "
                                {(area == Area::Developer).then(|| view! { <a href=crate::paths::EVENT_TYPES>"add types to the catalogue"</a> })}
                                {(area == Area::Consumer).then_some("types must be in the catalogue")}
                                " first.)"</p> }.into_any()
                        } else {
                            view! {
                                <p class="hint">"Tick the ones it should receive; leave all unticked for every type."</p>
                                {o.event_types.iter().enumerate().map(|(i, t)| view! {
                                    <label class="check"><input type="checkbox" name=format!("event_types[{i}]") value=t.name.clone()/>{t.name.clone()}</label>
                                }).collect_view()}
                            }.into_any()
                        }}
                        <p class="error" role="alert">{field_error(add_result, "event_types")}</p>
                    </fieldset>
                    <details>
                        <summary>"More: channels, rate limit, custom headers, payload filter, signature scheme"</summary>
                        <Field label="Channels (comma-separated, optional)" name="channels" error=Signal::derive(field_error(add_result, "channels"))/>
                        <Field label="Rate limit (messages per second, optional)" name="rate_limit" error=Signal::derive(field_error(add_result, "rate_limit"))/>
                        <HeadersField error=Signal::derive(field_error(add_result, "headers")) value=String::new()/>
                        <super::filter::FilterField value=String::new() result=add_result/>
                        <div class="field">
                            <label for="field-signing">"Signature scheme"</label>
                            <select id="field-signing" name="signing" aria-describedby="field-signing-error">
                                <option value="hmac" selected>"HMAC-SHA256 (v1): a shared secret, whsec_…"</option>
                                <option value="ed25519">"Ed25519 (v1a): receivers hold only a public key, whpk_…"</option>
                            </select>
                            <p class="error" id="field-signing-error" role="alert">{field_error(add_result, "signing")}</p>
                        </div>
                    </details>
                    <p class="error" role="alert">{add_general}</p>
                    <button type="submit" class="button" disabled=move || add.pending().get()>"Add endpoint"</button>
                    {move || added().map(|e| view! { <p role="status" class="ok">"Added " <code>{e.url}</code> "."</p> })}
                </ActionForm>
            </section>
        })}
    }
}

#[component]
fn MessagesTab(o: AppDashboard, area: Area) -> impl IntoView {
    let app_link = o.app.id.clone();
    view! {
        <section class="card">
            <h2>"Recent messages"</h2>
            <p><a href=area.messages(&o.app.id)>"Message log: filter, search and page through every message →"</a></p>
            {if o.messages.is_empty() {
                view! {
                    <p class="empty">"No messages yet. Send a test event on the "
                        <a href=area.app(&o.app.id) + "?tab=testing">"Testing tab"</a>
                        {(area == Area::Developer).then(|| view! {
                            ", or have your backend POST to " <code>{format!("/api/v1/app/{}/msg", o.app.id)}</code>
                        })} "."</p>
                }.into_any()
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
    }
}

#[component]
fn PortalTab(app: String) -> impl IntoView {
    let share = ServerAction::<ConsumerPortalLink>::new();
    let shared = move || share.value().get().and_then(|r| r.ok());
    let (open_app, share_app) = (app.clone(), app);
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
            <p class="hint">"Your backend can make these links too: " <code>"POST /api/v1/auth/app-portal-access/{app_id}"</code> "."</p>
        </section>
    }
}

#[component]
fn SettingsTab(o: AppDashboard, settings: ServerAction<UpdateApp>) -> impl IntoView {
    let delete = ServerAction::<DeleteApp>::new();
    let result = settings.value();
    let saved = move || result.get().is_some_and(|r| r.is_ok());
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    let a = o.app.clone();
    let (id_a, id_b) = (a.id.clone(), a.id.clone());
    view! {
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=settings attr:class="form" attr:novalidate=true>
                <input type="hidden" name="app" value=id_a/>
                <div class="field">
                    <label for="field-name">"Name"</label>
                    <input id="field-name" name="name" value=a.name.clone() aria-describedby="field-name-error"/>
                    <p class="error" id="field-name-error" role="alert">{field_error(result, "name")}</p>
                </div>
                <div class="field">
                    <label for="field-uid">"UID (optional)"</label>
                    <input id="field-uid" name="uid" value=a.uid.clone().unwrap_or_default() aria-describedby="field-uid-hint field-uid-error"/>
                    <p class="hint" id="field-uid-hint">"Your own id for it: the API accepts it wherever the app id goes."</p>
                    <p class="error" id="field-uid-error" role="alert">{field_error(result, "uid")}</p>
                </div>
                <div class="field">
                    <label for="field-rate_limit">"Rate limit for the whole application (messages per second, optional)"</label>
                    <input id="field-rate_limit" name="rate_limit" value=a.throttle_rate.map(|r| r.to_string()).unwrap_or_default()
                        aria-describedby="field-rate_limit-error"/>
                    <p class="error" id="field-rate_limit-error" role="alert">{field_error(result, "rate_limit")}</p>
                </div>
                <p class="error" role="alert">{general}</p>
                <button type="submit" class="button" disabled=move || settings.pending().get()>"Save settings"</button>
                {move || saved().then(|| view! { <p role="status" class="ok">"Saved."</p> })}
            </ActionForm>
        </section>
        <section class="card danger-zone">
            <h2>"Delete this application"</h2>
            <p class="muted">"Its endpoints, messages and delivery history go with it. This cannot be undone."</p>
            <ActionForm action=delete attr:class="inline">
                <input type="hidden" name="id" value=id_b/>
                <input type="hidden" name="to_list" value="yes"/>
                <button type="submit" class="button danger">"Delete application"</button>
            </ActionForm>
        </section>
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
                                <label class="sr-only" for=format!("scheme-{}", e.id)>"Scheme of the new secret"</label>
                                <select id=format!("scheme-{}", e.id) name="scheme" class="small">
                                    <option value="" selected>"same scheme"</option>
                                    <option value="hmac">"to HMAC-SHA256"</option>
                                    <option value="ed25519">"to Ed25519"</option>
                                </select>
                                <button type="submit" class="button small secondary">"Rotate"</button>
                            </ActionForm>
                        })}
                        {move || shown().filter(|s: &SigningSecrets| s.endpoint_id == id).map(|s| view! { <SecretView s=s/> })}
                    </li>
                }
                .into_any()
            }).collect_view()}
        </ul>
        {(!read_only).then(|| view! { <p class="hint">"Rotating makes a new secret at once; the old one keeps signing for 24 hours, so receivers can switch without missing a webhook. Rotating to Ed25519 (or back) works the same way: both signatures are sent until the old one expires."</p> })}
    }
}

/// What a shown key is: an Ed25519 public key (`whpk_`) or an HMAC secret.
fn key_label(key: &str) -> &'static str {
    if key.starts_with("whpk_") {
        "public key (Ed25519, v1a signatures)"
    } else {
        "secret (HMAC-SHA256, v1 signatures)"
    }
}

#[component]
fn SecretView(s: SigningSecrets) -> impl IntoView {
    let ed25519 = s.current.starts_with("whpk_");
    view! {
        <div class="secret-box" role="status">
            <p>"Current " {key_label(&s.current)} ": " <code class="secret" data-testid="current-secret">{s.current.clone()}</code> " "
                <CopyButton text=s.current.clone()/>
            </p>
            {s.previous.map(|(k, until)| view! {
                <p>"Previous " {key_label(&k)} ", still signing until " {until.format("%Y-%m-%d %H:%M UTC").to_string()} ": "
                    <code class="secret" data-testid="previous-secret">{k}</code></p>
            })}
            {if ed25519 {
                view! { <Ed25519Snippets public_key=s.current.clone()/> }.into_any()
            } else {
                view! { <HmacSnippets secret=s.current.clone()/> }.into_any()
            }}
        </div>
    }
}

/// How to verify `v1a` signatures: the snippets in `app/src/snippets/`, which the tests run
/// against real deliveries.
#[component]
fn Ed25519Snippets(public_key: String) -> impl IntoView {
    let python = format!(
        "{}

# verify(\"{public_key}\", request.headers, request.body)",
        include_str!("../snippets/ed25519.py").trim_end()
    );
    let node = format!(
        "{}

// verify(\"{public_key}\", req.headers, rawBody);",
        include_str!("../snippets/ed25519.js").trim_end()
    );
    let rust = format!(
        "{}

// verify(\"{public_key}\", id, timestamp, signature_header, &body)",
        include_str!("../snippets/ed25519.rs").trim_end()
    );
    view! {
        <details>
            <summary>"Verify in your code: Python"</summary>
            <pre data-testid="snippet-python">{python}</pre>
        </details>
        <details>
            <summary>"Verify in your code: Node"</summary>
            <pre data-testid="snippet-node">{node}</pre>
        </details>
        <details>
            <summary>"Verify in your code: Rust"</summary>
            <pre data-testid="snippet-rust">{rust}</pre>
        </details>
    }
}

#[component]
fn HmacSnippets(secret: String) -> impl IntoView {
    let text = format!(
        "# Python (pip install standardwebhooks)\nfrom standardwebhooks.webhooks import Webhook\nWebhook(\"{0}\").verify(body, headers)\n\n// Node (npm install standardwebhooks)\nimport {{ Webhook }} from \"standardwebhooks\";\nnew Webhook(\"{1}\").verify(body, headers);\n\n// Rust: v1,base64(HMAC-SHA256(key, \"{{id}}.{{timestamp}}.{{body}}\")), key = base64-decoded secret after whsec_",
        secret,
        secret.trim_start_matches("whsec_")
    );
    view! {
        <details>
            <summary>"Verify in your code"</summary>
            <pre>{text}</pre>
        </details>
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

/// A payload filter as the endpoint list shows it: whole up to 60 characters, else its start
/// (the whole filter is the cell's tooltip and on the endpoint's page).
fn short_filter(f: &str) -> String {
    match f.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &f[..at]),
        None => f.to_string(),
    }
}
