//! Notifications: where Hookline tells the organisation that something needs a person (an
//! endpoint disabled, a delivery given up on, ...): destinations, a test to each, and the
//! history of what was sent and whether it arrived.
use super::{field_error, reset_on_success, CopyButton, Field, PageSkeleton, SubmissionToken, Topbar};
use crate::notifications::{
    notifications_view, AddDestination, DeleteDestination, DestinationSecret, NotificationsData,
    SetDestinationEnabled, TestDestination,
};
use crate::paths;
use domain::types::{
    BreakerState, MessageStatus, NotificationDestination, NotificationSent, DEFAULT_NOTIFIED,
    OPERATIONAL_EVENT_TYPES,
};
use leptos::prelude::*;

/// What each event means, for the form.
fn event_help(event: &str) -> &'static str {
    match event {
        "endpoint.disabled" => "an endpoint was disabled, by hand or after failing for days",
        "message.attempt.exhausted" => "a delivery failed its last retry (a dead letter)",
        "message.attempt.failing" => "a delivery keeps failing (its fourth try); retries continue",
        "message.attempt.recovered" => "a delivery that was failing got through",
        "endpoint.enabled" => "an endpoint was enabled again",
        "endpoint.created" => "an endpoint was added",
        "endpoint.updated" => "an endpoint was changed, or its secret rotated",
        "endpoint.deleted" => "an endpoint was deleted",
        "background_task.finished" => "a recovery or replay finished",
        _ => "",
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let add = ServerAction::<AddDestination>::new();
    let test = ServerAction::<TestDestination>::new();
    let enable = ServerAction::<SetDestinationEnabled>::new();
    let delete = ServerAction::<DeleteDestination>::new();
    let (tick, set_tick) = signal(0u32);
    let data = Resource::new(
        move || {
            (
                add.version().get(),
                test.version().get(),
                enable.version().get(),
                delete.version().get(),
                tick.get(),
            )
        },
        |_| notifications_view(),
    );
    // the history updates by itself while something is on its way
    Effect::new(move |_| {
        if let Some(Ok(d)) = data.get() {
            let waiting = d.sent.iter().any(|s| {
                s.deliveries
                    .iter()
                    .any(|x| matches!(x.status, MessageStatus::Pending | MessageStatus::Sending))
            });
            if waiting {
                set_timeout(
                    move || set_tick.update(|t| *t += 1),
                    std::time::Duration::from_secs(2),
                );
            }
        }
    });
    super::provide_role();
    let role = super::role_resource();
    view! {
        <Topbar/>
        <main class="container notifications">
            <h1>"Notifications"</h1>
            <p class="lead">
                "Be told when something needs you: an endpoint disabled, a delivery that ran out of retries. "
                "Send them to a Slack-compatible channel, or as signed webhooks to a service of yours "
                "(the same events as Svix's operational webhooks, also managed with "
                <code>"/api/v1/operational-webhook/endpoint"</code> ")."
            </p>
            <Transition fallback=|| view! { <PageSkeleton title="Destinations"/> }>
                {move || Suspend::new(async move {
                    let can = role.allows(domain::types::Role::Developer).await;
                    match data.await {
                        Ok(d) => view! { <Destinations d=d test=test enable=enable delete=delete can/> }.into_any(),
                        Err(e) => super::load_error(e, paths::Area::Developer),
                    }
                })}
            </Transition>
            <super::RoleGate otherwise="You are a viewer here: you see the destinations but cannot change them.">
                <AddForm add=add/>
            </super::RoleGate>
            <Transition fallback=|| view! { <PageSkeleton title="Sent"/> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <History d=d/> }.into_any(),
                        Err(_) => ().into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

fn state(d: &NotificationDestination) -> (&'static str, String) {
    let h = &d.health;
    if h.disabled {
        return ("badge fail", "disabled".into());
    }
    match h.breaker {
        BreakerState::Open(_) | BreakerState::Probing => ("badge fail", "paused: failing".into()),
        BreakerState::Closed if h.consecutive_failures > 0 => (
            "badge pending",
            format!("{} failures in a row", h.consecutive_failures),
        ),
        BreakerState::Closed => ("badge ok", "healthy".into()),
    }
}

#[component]
fn Destinations(
    d: NotificationsData,
    test: ServerAction<TestDestination>,
    enable: ServerAction<SetDestinationEnabled>,
    delete: ServerAction<DeleteDestination>,
    can: bool,
) -> impl IntoView {
    let reveal = ServerAction::<DestinationSecret>::new();
    let tested = move || test.value().get();
    let problem = move || {
        [
            test.value().get().and_then(|r| r.err()),
            enable.value().get().and_then(|r| r.err()),
            delete.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| e.to_string())
    };
    view! {
        <section class="card">
            <h2>"Destinations"</h2>
            {if d.destinations.is_empty() {
                view! { <p class="empty">"None yet: nobody is told when an endpoint is disabled or a delivery gives up. Add a destination below."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Notification destinations">
                        <thead><tr><th>"Where"</th><th>"Events"</th><th>"State"</th><th>"Actions"</th></tr></thead>
                        <tbody>
                            {d.destinations.into_iter().map(|x| {
                                let (class, text) = state(&x);
                                let e = x.endpoint.clone();
                                let (id_a, id_b, id_c, id_d) = (e.id.clone(), e.id.clone(), e.id.clone(), e.id.clone());
                                let disabled = x.health.disabled;
                                let events = e.event_types.clone().map(|t| t.join(", ")).unwrap_or_else(|| "all".into());
                                view! {
                                    <tr>
                                        <td><code>{e.url.clone()}</code><br/>
                                            <span class="muted">{if x.slack { "Slack-compatible message" } else { "signed webhook" }}</span></td>
                                        <td>{events}</td>
                                        <td><span class=class>{text}</span></td>
                                        <td class="actions">
                                            {can.then(|| view! {
                                                <ActionForm action=test attr:class="inline">
                                                    <input type="hidden" name="endpoint" value=id_a/>
                                                    <button type="submit" class="button small" disabled=disabled>"Send test"</button>
                                                </ActionForm>
                                                " "
                                                <ActionForm action=enable attr:class="inline">
                                                    <input type="hidden" name="endpoint" value=id_b/>
                                                    <input type="hidden" name="enabled" value=disabled.to_string()/>
                                                    <button type="submit" class="button small secondary">{if disabled { "Enable" } else { "Disable" }}</button>
                                                </ActionForm>
                                                " "
                                            })}
                                            {(!x.slack).then(|| view! {
                                                <ActionForm action=reveal attr:class="inline">
                                                    <input type="hidden" name="endpoint" value=id_c/>
                                                    <button type="submit" class="button small secondary">"Secret"</button>
                                                </ActionForm>
                                            })}
                                            " "
                                            {can.then(|| view! {
                                                <ActionForm action=delete attr:class="inline">
                                                    <input type="hidden" name="endpoint" value=id_d/>
                                                    <button type="submit" class="button small danger">"Delete"</button>
                                                </ActionForm>
                                            })}
                                        </td>
                                    </tr>
                                }
                                .into_any()
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <p class="error" role="alert">{problem}</p>
            {move || tested().and_then(|r| r.ok()).map(|_| view! {
                <p class="ok" role="status">"Test sent: it shows under " <em>"Sent"</em> " below as it arrives."</p>
            })}
            {move || reveal.value().get().and_then(|r| r.ok()).map(|k| view! {
                <p class="secret-box" role="status">"Signing secret (verify with any Standard Webhooks library): "
                    <code class="secret">{k.clone()}</code> " " <CopyButton text=k/></p>
            })}
        </section>
    }
}

#[component]
fn AddForm(add: ServerAction<AddDestination>) -> impl IntoView {
    let result = add.value();
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    let added = move || result.get().and_then(|r| r.ok());
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(add, form);
    view! {
        <section class="card">
            <h2>"Add a destination"</h2>
            <ActionForm action=add node_ref=form attr:class="form" attr:novalidate=true>
                <SubmissionToken version=add.version()/>
                <fieldset class="field">
                    <legend>"Send as"</legend>
                    <label class="check"><input type="radio" name="kind" value="slack" checked=true/>
                        "A readable message to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)"</label>
                    <label class="check"><input type="radio" name="kind" value="webhook"/>
                        "A signed webhook (Svix's operational-webhook JSON) to a service of yours"</label>
                </fieldset>
                <Field label="URL" name="url" kind="url" required=true
                    hint="Delivered like any webhook: retried, and logged here."
                    error=Signal::derive(field_error(result, "url"))/>
                <fieldset class="field">
                    <legend>"Tell me when"</legend>
                    {OPERATIONAL_EVENT_TYPES.iter().enumerate().map(|(i, t)| view! {
                        <label class="check">
                            <input type="checkbox" name=format!("events[{i}]") value=*t checked=DEFAULT_NOTIFIED.contains(t)/>
                            <code>{*t}</code> ": " {event_help(t)}
                        </label>
                    }).collect_view()}
                    <p class="error" role="alert">{field_error(result, "events")}</p>
                </fieldset>
                <p class="error" role="alert">{general}</p>
                <button type="submit" class="button" disabled=move || add.pending().get()>"Add destination"</button>
                {move || added().map(|e| view! { <p role="status" class="ok">"Added " <code>{e.url}</code> ". Send it a test from the list above."</p> })}
            </ActionForm>
        </section>
    }
}

/// How a delivery shows in the history: destination URL, badge class, words.
type Shown = (String, &'static str, String);

fn delivery_text(status: MessageStatus, attempts: i32, code: Option<i32>) -> (&'static str, String) {
    let answer = match code {
        Some(0) => " (no answer)".to_string(),
        Some(c) => format!(" (HTTP {c})"),
        None => String::new(),
    };
    match status {
        MessageStatus::Success => ("badge ok", format!("arrived{answer}")),
        MessageStatus::Fail => ("badge fail", format!("failed after {attempts} tries{answer}")),
        MessageStatus::Sending => ("badge pending", "sending".into()),
        MessageStatus::Pending if attempts == 0 => ("badge pending", "on its way".into()),
        MessageStatus::Pending => ("badge pending", format!("retrying{answer}")),
    }
}

#[component]
fn History(d: NotificationsData) -> impl IntoView {
    let url_of = |id: &str| {
        d.destinations
            .iter()
            .find(|x| x.endpoint.id == id)
            .map(|x| x.endpoint.url.clone())
            .unwrap_or_else(|| "a deleted destination".into())
    };
    let rows: Vec<(NotificationSent, Vec<Shown>)> = d
        .sent
        .iter()
        .map(|s| {
            let to = s
                .deliveries
                .iter()
                .map(|x| {
                    let (class, text) = delivery_text(x.status, x.attempts, x.last_status_code);
                    (url_of(&x.endpoint_id), class, text)
                })
                .collect();
            (s.clone(), to)
        })
        .collect();
    view! {
        <section class="card">
            <h2>"Sent"</h2>
            {if rows.is_empty() {
                view! { <p class="empty">"Nothing sent yet. " <em>"Send test"</em> " shows here within a second or two."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Notifications sent">
                        <thead><tr><th>"When"</th><th>"What"</th><th>"Delivery"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|(s, to)| view! {
                                <tr>
                                    <td>{s.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                                    <td><code>{s.event_type.clone()}</code><br/><span class="muted">{s.summary.clone()}</span></td>
                                    <td>{to.into_iter().map(|(url, class, text)| view! {
                                        <div><span class=class>{text}</span> " " <span class="muted">{url}</span></div>
                                    }).collect_view()}</td>
                                </tr>
                            }.into_any()).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
