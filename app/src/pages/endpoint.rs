//! One endpoint: its health and circuit breaker, success-rate and latency charts, recent
//! attempts, recovery of failed deliveries, the edit form and deletion.
use super::app_detail::{area_value, HeadersField, SecretsPanel};
use super::filter::{FilterField, FilterTry};
use super::message::AttemptItem;
use super::{field_error, Topbar};
use crate::charts::{LatencyChart, SuccessChart};
use crate::endpoint::{
    endpoint_page, recovery_progress, DeleteEndpoint, EndpointPageData, RecoverFailed, Recovery,
    ReplayMissing, SetEndpointEnabled, UpdateEndpoint,
};
use crate::paths::Area;
use domain::types::{BreakerState, ChartRange};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use std::time::Duration;

#[component]
pub fn EndpointPage(#[prop(optional)] area: Area) -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let update = ServerAction::<UpdateEndpoint>::new();
    let toggle = ServerAction::<SetEndpointEnabled>::new();
    let delete = ServerAction::<DeleteEndpoint>::new();
    let recover = ServerAction::<RecoverFailed>::new();
    let replay = ServerAction::<ReplayMissing>::new();
    // the recovery (by action version) whose deliveries have all settled: the page reloads its
    // charts and attempts once, when that happens
    let (settled, set_settled) = signal(0usize);
    let data = Resource::new(
        move || {
            let p = params.read();
            let q = query.read();
            (
                p.get("id").unwrap_or_default(),
                p.get("ep").unwrap_or_default(),
                q.get("range").unwrap_or_default(),
                q.get("before"),
                update.version().get(),
                toggle.version().get(),
                recover.version().get(),
                replay.version().get(),
                settled.get(),
            )
        },
        |(app, ep, range, before, ..)| endpoint_page(app, ep, range, before),
    );
    view! {
        <Topbar area/>
        <main class="container">
            <Transition fallback=|| view! { <h1>"Endpoint"</h1> <super::PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! {
                            <EndpointView d=d area update toggle delete recover replay settled set_settled/>
                        }.into_any(),
                        Err(e) => super::load_error(e, area),
                    }
                })}
            </Transition>
        </main>
    }
}

fn breaker_text(b: BreakerState) -> String {
    match b {
        BreakerState::Closed => "Closed: delivering normally.".into(),
        BreakerState::Open(until) => format!(
            "Open: deliveries are paused after repeated failures until {}.",
            until.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        BreakerState::Probing => "Half-open: the next attempt is a single probe that decides.".into(),
    }
}

#[component]
fn EndpointView(
    d: EndpointPageData,
    area: Area,
    update: ServerAction<UpdateEndpoint>,
    toggle: ServerAction<SetEndpointEnabled>,
    delete: ServerAction<DeleteEndpoint>,
    recover: ServerAction<RecoverFailed>,
    replay: ServerAction<ReplayMissing>,
    settled: ReadSignal<usize>,
    set_settled: WriteSignal<usize>,
) -> impl IntoView {
    let ep = d.endpoint.clone();
    let app_id = d.app_id.clone();
    let here = area.endpoint(&app_id, &ep.id);
    let enabled = !d.health.disabled;
    let update_result = update.value();
    let delete_result = delete.value();
    let saved = move || update_result.get().is_some_and(|r| r.is_ok());
    let update_general = move || {
        update_result
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    let delete_general = move || {
        delete_result
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    let ids = StoredValue::new((d.app_id.clone(), d.endpoint.id.clone()));
    let hidden = move || {
        let (app, endpoint) = ids.get_value();
        view! {
            <input type="hidden" name="app" value=app/>
            <input type="hidden" name="endpoint" value=endpoint/>
        }
    };
    let headers_text: String = d.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    let subscribed = ep.event_types.clone().unwrap_or_default();
    // the filter as typed, for *Try the filter*
    let (filter_text, set_filter_text) = signal(ep.filter.clone().unwrap_or_default());
    let try_types = d.event_types.clone();
    view! {
        <p><a href=area.app(&app_id)>{format!("← {}", d.app_name)}</a></p>
        <h1 class="endpoint-title">
            <code>{ep.url.clone()}</code> " "
            {if enabled {
                view! { <span class="badge ok">"enabled"</span> }.into_any()
            } else {
                view! { <span class="badge fail">"disabled"</span> }.into_any()
            }}
        </h1>
        <p class="muted">{ep.description.clone()} " " <code>{ep.id.clone()}</code></p>
        {d.read_only.then(|| super::read_only_notice(area))}

        <section class="card" aria-labelledby="health-h">
            <h2 id="health-h">"Health"</h2>
            <p data-testid="breaker"><strong>"Circuit breaker: "</strong>{breaker_text(d.health.breaker)}</p>
            {(d.health.consecutive_failures > 0).then(|| view! {
                <p>{format!("{} failed attempts in a row", d.health.consecutive_failures)}
                    {d.health.failing_since.map(|t| format!(", failing since {}", t.format("%Y-%m-%d %H:%M:%S UTC")))}"."</p>
            })}
            {d.health.disabled_reason.clone().map(|r| view! { <p class="error" data-testid="disabled-reason">"Disabled: " {r}</p> })}
            {(!d.read_only).then(|| view! {
                <ActionForm action=toggle attr:class="inline">
                    {hidden()}
                    <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                    <button type="submit" class=if enabled { "button secondary" } else { "button" } disabled=move || toggle.pending().get()>
                        {if enabled { "Disable endpoint" } else { "Enable endpoint" }}
                    </button>
                </ActionForm>
            })}
            {move || toggle.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
        </section>

        <section class="card" aria-labelledby="charts-h">
            <h2 id="charts-h">"Deliveries"</h2>
            <nav class="tabs" aria-label="Chart period">
                {ChartRange::ALL.into_iter().map(|r| {
                    let current = r == d.range;
                    view! {
                        <a href=format!("{here}?range={}", r.as_str()) class:current=current
                            aria-current=if current { Some("page") } else { None }>{r.label()}</a>
                    }
                }).collect_view()}
            </nav>
            <div class="charts">
                <SuccessChart buckets=d.chart.clone() range=d.range/>
                <LatencyChart buckets=d.chart.clone() range=d.range/>
            </div>
        </section>

        {(!d.read_only).then(|| view! { <RecoverPanel app=app_id.clone() endpoint=ep.id.clone() recover=recover settled set_settled/> })}
        {(!d.read_only).then(|| view! { <ReplayPanel app=app_id.clone() endpoint=ep.id.clone() replay=replay/> })}

        <section class="card" aria-labelledby="attempts-h">
            <h2 id="attempts-h">"Attempts"</h2>
            {if d.attempts.is_empty() {
                view! { <p class="empty">"No attempts yet."</p> }.into_any()
            } else {
                let app = app_id.clone();
                view! {
                    <ol class="attempts">
                        {d.attempts.into_iter().map(|a| {
                            let link = area.message(&app, &a.attempt.msg_id);
                            view! { <AttemptItem a=a message_link=link/> }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
            {d.older.map(|it| view! { <p><a href=format!("{here}?range={}&before={it}", d.range.as_str())>"Older attempts →"</a></p> })}
        </section>

        <section class="card">
            <SecretsPanel app=app_id.clone() endpoints=vec![ep.clone()] read_only=d.read_only/>
        </section>

        {(!d.read_only).then(move || view! {
        <section class="card" aria-labelledby="edit-h">
            <h2 id="edit-h">"Settings"</h2>
            <ActionForm action=update attr:class="form" attr:novalidate=true>
                {hidden()}
                <div class="field">
                    <label for="field-url">"URL"</label>
                    <input id="field-url" name="url" type="url" required=true value=ep.url.clone()
                        aria-describedby="field-url-error"/>
                    <p class="error" id="field-url-error" role="alert">{field_error(update_result, "url")}</p>
                </div>
                <div class="field">
                    <label for="field-description">"Description"</label>
                    <input id="field-description" name="description" value=ep.description.clone()/>
                </div>
                <fieldset class="field">
                    <legend>"Event types (none ticked: all)"</legend>
                    {d.event_types.iter().enumerate().map(|(i, t)| view! {
                        <label class="check">
                            <input type="checkbox" name=format!("event_types[{i}]") value=t.clone() checked=subscribed.contains(t)/>
                            {t.clone()}
                        </label>
                    }).collect_view()}
                    <p class="error" role="alert">{field_error(update_result, "event_types")}</p>
                </fieldset>
                <div class="field">
                    <label for="field-channels">"Channels (comma-separated, optional)"</label>
                    <input id="field-channels" name="channels" value=ep.channels.clone().unwrap_or_default().join(", ")/>
                    <p class="error" role="alert">{field_error(update_result, "channels")}</p>
                </div>
                <div class="field">
                    <label for="field-rate_limit">"Rate limit (messages per second, optional)"</label>
                    <input id="field-rate_limit" name="rate_limit" inputmode="numeric"
                        value=ep.throttle_rate.map(|r| r.to_string()).unwrap_or_default()/>
                    <p class="error" role="alert">{field_error(update_result, "rate_limit")}</p>
                </div>
                <FilterField value=ep.filter.clone().unwrap_or_default() result=update_result on_input=set_filter_text/>
                <HeadersField error=Signal::derive(field_error(update_result, "headers")) value=headers_text/>
                {d.headers.iter().enumerate().map(|(i, (name, _))| view! {
                    <input type="hidden" name=format!("shown_headers[{i}]") value=name.clone()/>
                }).collect_view()}
                {(!d.sensitive_headers.is_empty()).then(|| view! {
                    <fieldset class="field">
                        <legend>"Hidden headers (values are never shown; typing one again replaces it)"</legend>
                        {d.sensitive_headers.iter().enumerate().map(|(i, h)| view! {
                            <label class="check">
                                <input type="checkbox" name=format!("remove_headers[{i}]") value=h.clone()/>
                                {format!("Remove {h}")}
                            </label>
                        }).collect_view()}
                    </fieldset>
                })}
                <p class="error" role="alert">{update_general}</p>
                <button type="submit" class="button" disabled=move || update.pending().get()>"Save changes"</button>
                {move || saved().then(|| view! { <span role="status" class="ok">" Saved."</span> })}
            </ActionForm>
            <FilterTry app=app_id.clone() event_types=try_types filter=filter_text/>
        </section>

        <section class="card danger" aria-labelledby="delete-h">
            <h2 id="delete-h">"Delete this endpoint"</h2>
            <ActionForm action=delete attr:class="form">
                {hidden()}
                <input type="hidden" name="area" value=area_value(area)/>
                <label class="check">
                    <input type="checkbox" name="confirm" value="yes"/>
                    "Yes, delete it: its deliveries stop and its history is removed."
                </label>
                <p class="error" role="alert">{field_error(delete_result, "confirm")}</p>
                <p class="error" role="alert">{delete_general}</p>
                <button type="submit" class="button danger" disabled=move || delete.pending().get()>"Delete endpoint"</button>
            </ActionForm>
        </section>
        })}
    }
}

/// "Recover failed since…": re-queues failed deliveries, then follows them until none is
/// pending.
#[component]
fn RecoverPanel(
    app: String,
    endpoint: String,
    recover: ServerAction<RecoverFailed>,
    settled: ReadSignal<usize>,
    set_settled: WriteSignal<usize>,
) -> impl IntoView {
    let result = recover.value();
    let started = move || result.get().and_then(|r| r.ok());
    let (tick, set_tick) = signal(0u64);
    let (done, set_done) = signal(false);
    Effect::new(move |_| {
        if recover.version().get() > 0 {
            set_done.set(false);
            set_tick.set(0);
        }
    });
    let (app_p, ep_p) = (app.clone(), endpoint.clone());
    let progress = Resource::new(
        move || (started(), tick.get()),
        move |(rec, _)| {
            let (app, ep) = (app_p.clone(), ep_p.clone());
            async move {
                match rec {
                    Some(Recovery { since, at, .. }) => recovery_progress(app, ep, since, at).await.ok(),
                    None => None,
                }
            }
        },
    );
    // poll while the recovered deliveries are pending, for at most two minutes
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !done.get_untracked() && tick.get_untracked() < 120 {
                    set_tick.update(|t| *t += 1);
                }
            },
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    // a day ago, as the time picker's default
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    view! {
        <section class="card" aria-labelledby="recover-h">
            <h2 id="recover-h">"Recover failed messages"</h2>
            <p class="muted">"Sends again every message whose delivery to this endpoint failed for good, since the time you pick (UTC)."</p>
            <ActionForm action=recover attr:class="form inline-form">
                <input type="hidden" name="app" value=app/>
                <input type="hidden" name="endpoint" value=endpoint/>
                <div class="field">
                    <label for="field-since">"Failed since (UTC)"</label>
                    <input id="field-since" name="since" type="datetime-local" value=yesterday aria-describedby="field-since-error"/>
                    <p class="error" id="field-since-error" role="alert">{field_error(result, "since")}</p>
                </div>
                <button type="submit" class="button" disabled=move || recover.pending().get()>"Recover"</button>
            </ActionForm>
            {move || started().map(|r| view! {
                <p role="status" data-testid="recover-result">
                    {match r.queued {
                        0 => "Nothing to recover: no failed deliveries in that period.".to_string(),
                        1 => "Queued 1 failed delivery again.".to_string(),
                        n => format!("Queued {n} failed deliveries again."),
                    }}
                </p>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    progress.await.map(|p| {
                        let pending = p.pending + p.sending;
                        set_done.set(pending == 0);
                        let version = recover.version().get_untracked();
                        if pending == 0 && version > 0 && settled.get_untracked() != version {
                            set_settled.set(version);
                        }
                        view! {
                            <p role="status" data-testid="recover-progress">
                                {format!("Since then: {} succeeded, {} pending, {} failed.", p.success, pending, p.fail)}
                                {(pending == 0).then_some(" Done.")}
                            </p>
                        }
                    })
                })}
            </Transition>
        </section>
    }
}

/// "Replay missing since…": sends the messages this endpoint should have had and never got
/// (it was added later, filtered differently, or disabled), as a background task.
#[component]
fn ReplayPanel(app: String, endpoint: String, replay: ServerAction<ReplayMissing>) -> impl IntoView {
    let result = replay.value();
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(7))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    view! {
        <section class="card" aria-labelledby="replay-h">
            <h2 id="replay-h">"Replay missing messages"</h2>
            <p class="muted">"Sends every message since the time you pick (UTC) that this endpoint's filters match but that it never received: sent before it existed, while it filtered differently, or while it was disabled."</p>
            <ActionForm action=replay attr:class="form inline-form">
                <input type="hidden" name="app" value=app/>
                <input type="hidden" name="endpoint" value=endpoint/>
                <div class="field">
                    <label for="field-replay-since">"Missing since (UTC)"</label>
                    <input id="field-replay-since" name="since" type="datetime-local" value=week_ago aria-describedby="field-replay-since-error"/>
                    <p class="error" id="field-replay-since-error" role="alert">{field_error(result, "since")}</p>
                </div>
                <button type="submit" class="button" disabled=move || replay.pending().get()>"Replay missing"</button>
            </ActionForm>
            {move || result.get().and_then(|r| r.ok()).map(|r| view! {
                <p role="status" data-testid="replay-result">
                    {match r.queued {
                        0 => "Nothing missing: this endpoint has had every matching message in that period.".to_string(),
                        1 => "Queued 1 missing message.".to_string(),
                        n => format!("Queued {n} missing messages."),
                    }}
                    " " <span class="muted">{format!("(task {})", r.task_id)}</span>
                </p>
            })}
        </section>
    }
}
