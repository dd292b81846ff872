//! The delivery timeline of one message, refreshed every second until it settles.
use super::Topbar;
use crate::paths::Area;
use crate::timeline::{message_timeline, AttemptView, EndpointTimeline, Resend, Timeline};
use domain::types::MessageStatus;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::time::Duration;

#[component]
pub fn MessagePage(#[prop(optional)] area: Area) -> impl IntoView {
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        (p.get("id").unwrap_or_default(), p.get("msg").unwrap_or_default())
    };
    let (tick, set_tick) = signal(0u64);
    let (settled, set_settled) = signal(false);
    let resend = ServerAction::<Resend>::new();
    // a resend makes the message pending again: refresh and resume polling
    Effect::new(move |_| {
        if resend.version().get() > 0 {
            set_settled.set(false);
        }
    });
    let timeline = Resource::new(
        move || (ids(), tick.get(), resend.version().get()),
        |((app, msg), _, _)| message_timeline(app, msg),
    );
    // Live updates: poll while anything is pending (effects and intervals run only in the browser).
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !settled.get_untracked() {
                    set_tick.update(|t| *t += 1);
                }
            },
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Topbar area/>
        <main class="container">
            <Transition fallback=|| view! { <h1>"Delivery timeline"</h1> <super::PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match timeline.await {
                        Ok(t) => {
                            set_settled.set(t.settled());
                            view! { <TimelineView t=t resend=resend area/> }.into_any()
                        }
                        Err(e) => super::load_error(e, area),
                    }
                })}
            </Transition>
        </main>
    }
}

pub fn state_badge(s: MessageStatus) -> impl IntoView {
    let (class, text) = match s {
        MessageStatus::Success => ("badge ok", "succeeded"),
        MessageStatus::Fail => ("badge fail", "failed"),
        MessageStatus::Sending => ("badge pending", "sending"),
        MessageStatus::Pending => ("badge pending", "pending"),
    };
    view! { <span class=class>{text}</span> }
}

#[component]
fn TimelineView(t: Timeline, resend: ServerAction<Resend>, area: Area) -> impl IntoView {
    view! {
        <p><a href=area.app(&t.app_id)>{format!("← {}", t.app_name)}</a></p>
        <h1>"Message " <code>{t.message.id.clone()}</code></h1>
        {t.read_only.then(|| super::read_only_notice(area))}
        <p class="muted">
            {t.message.event_type.clone()} " · sent " {t.message.timestamp.format("%Y-%m-%d %H:%M:%S UTC").to_string()}
        </p>
        <details class="card">
            <summary>"Payload"</summary>
            // text inside <code>, not straight in <pre>: the HTML parser drops a <pre>'s leading
            // newline, and hydration would then miss the text node
            <pre><code>{t.message.payload.get().to_string()}</code></pre>
        </details>
        {if t.endpoints.is_empty() {
            view! { <p class="empty">"No endpoint was subscribed to this message: none takes its event type, channels or payload (filter)."</p> }.into_any()
        } else {
            let (app, msg, read_only) = (t.app_id.clone(), t.message.id.clone(), t.read_only);
            t.endpoints
                .into_iter()
                .map(|e| view! { <EndpointBlock e=e app=app.clone() msg=msg.clone() resend=resend area read_only/> })
                .collect_view()
                .into_any()
        }}
    }
}

#[component]
fn EndpointBlock(
    e: EndpointTimeline,
    app: String,
    msg: String,
    resend: ServerAction<Resend>,
    area: Area,
    read_only: bool,
) -> impl IntoView {
    let endpoint_page = area.endpoint(&app, &e.endpoint_id);
    let pending = matches!(e.status, MessageStatus::Pending | MessageStatus::Sending);
    let labels = e.attempt_labels();
    let no_attempts = e.attempts.is_empty();
    let endpoint_id = e.endpoint_id.clone();
    view! {
        <section class="card timeline" aria-label=format!("Deliveries to {}", e.url)>
            <h2>
                <a href=endpoint_page><code>{e.url.clone()}</code></a> " " {state_badge(e.status)}
                {(!read_only).then(|| view! {
                    <ActionForm action=resend attr:class="inline push-right">
                        <input type="hidden" name="app" value=app/>
                        <input type="hidden" name="msg" value=msg/>
                        <input type="hidden" name="endpoint" value=endpoint_id/>
                        <button type="submit" class="button small" disabled=move || resend.pending().get()>"Resend"</button>
                    </ActionForm>
                })}
            </h2>
            {move || resend.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            {match (e.status, e.sending_for_secs) {
                // one truthful state while an attempt is in flight
                (MessageStatus::Sending, started) => view! {
                    <p class="next" role="status">
                        {match (no_attempts, started) {
                            (true, Some(s)) => format!("Sending the first try now, started {s} s ago."),
                            (false, Some(s)) => format!("Sending now, started {s} s ago."),
                            (true, None) => "Sending the first try now.".to_string(),
                            (false, None) => "Sending now.".to_string(),
                        }}
                    </p>
                }.into_any(),
                _ if pending => view! {
                    <p class="next">
                        {match (e.next_in_secs, no_attempts) {
                            (Some(0) | None, true) => "Not attempted yet: the first try is due now.".to_string(),
                            (Some(0) | None, false) => "The next attempt is due now.".to_string(),
                            (Some(s), true) => format!("Not attempted yet: the first try is due at {} (in {s} s).",
                                e.next_attempt.map(|n| n.format("%H:%M:%S UTC").to_string()).unwrap_or_default()),
                            (Some(s), false) => format!("Next attempt at {} (in {s} s).",
                                e.next_attempt.map(|n| n.format("%H:%M:%S UTC").to_string()).unwrap_or_default()),
                        }}
                    </p>
                }.into_any(),
                _ => ().into_any(),
            }}
            {(!no_attempts).then(|| view! {
                <ol class="attempts">
                    {e.attempts.into_iter().zip(labels).map(|(a, label)| view! { <AttemptItem a=a label=label/> }).collect_view()}
                </ol>
            })}
        </section>
    }
}

/// One attempt: when, the HTTP status, how long, any error code, what triggered it; the
/// response body and the request headers sent, collapsed.
#[component]
pub fn AttemptItem(
    a: AttemptView,
    #[prop(optional)] message_link: Option<String>,
    /// What the attempt was in its delivery ("first try", "retry 2"), when known.
    #[prop(optional)]
    label: Option<String>,
) -> impl IntoView {
    let at = a.attempt;
    let ok = at.status == MessageStatus::Success;
    view! {
        <li class:ok=ok class:fail=!ok>
            <div class="attempt-line">
                <span>{at.timestamp.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()}</span>
                <span>{if at.response_status_code == 0 { "no response".to_string() } else { format!("HTTP {}", at.response_status_code) }}</span>
                <span>{format!("{} ms", at.response_duration_ms)}</span>
                {at.error_code.clone().map(|c| view! { <span class="badge fail">{c}</span> })}
                <span class="muted">{label.unwrap_or_else(|| {
                    if at.trigger_type == domain::types::TriggerType::Manual { "manual resend" } else { "automatic" }.to_string()
                })}</span>
                {message_link.map(|href| view! { <a href=href>{at.msg_id.clone()}</a> })}
            </div>
            <details>
                <summary>"Response and request headers"</summary>
                <pre><code>{at.response.clone()}</code></pre>
                // an explicit tbody: the browser inserts one anyway, and hydration must match it
                <table class="headers">
                    <tbody>
                        {a.request_headers.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td><code>{v}</code></td></tr> }).collect_view()}
                    </tbody>
                </table>
            </details>
        </li>
    }
}
