//! An application's Testing tab: send a test event (any event type name; the catalogue's
//! are offered with their examples), and test inboxes that record what arrives.
use super::app_detail::area_value;
use super::{field_error, SubmissionToken};
use crate::catalog::{example_payload, AppDashboard, SendTestEvent};
use crate::inbox::CreateTestInbox;
use crate::onboarding::{sample_payload, FIRST_EVENT_TYPE};
use crate::paths::{self, Area};
use leptos::prelude::*;

#[component]
pub fn TestingTab(o: AppDashboard, inbox: ServerAction<CreateTestInbox>, area: Area) -> impl IntoView {
    let send = ServerAction::<SendTestEvent>::new();
    let send_result = send.value();
    let send_general = move || send_result.get().and_then(|r| r.err()).and_then(|e| e.general());
    let types = o.event_types.clone();
    let first_type = types
        .first()
        .map(|t| t.name.clone())
        .unwrap_or_else(|| FIRST_EVENT_TYPE.to_string());
    let first_example = types.first().map(example_payload).unwrap_or_else(sample_payload);
    let (payload, set_payload) = signal(first_example);
    let examples: Vec<(String, String)> = types
        .iter()
        .map(|t| (t.name.clone(), example_payload(t)))
        .collect();
    let send_targets: Vec<(String, String)> = o
        .endpoints
        .iter()
        .map(|e| (e.id.clone(), e.url.clone()))
        .collect();
    let app_id = o.app.id.clone();
    let no_endpoints = o.endpoints.is_empty();
    view! {
        {(!o.read_only).then(|| view! {
        <section class="card">
            <h2>"Send a test event"</h2>
            {if no_endpoints {
                view! {
                    <p class="empty">"There is no endpoint to send to yet. "
                        {match area {
                            Area::Developer => "Make a test inbox below (one click), or add your URL on the Endpoints tab.",
                            Area::Consumer => "Add one on the Endpoints tab first.",
                        }}
                    </p>
                }.into_any()
            } else {
                view! {
                    <ActionForm action=send attr:class="form" attr:novalidate=true>
                        <SubmissionToken version=send.version()/>
                        <input type="hidden" name="app" value=app_id.clone()/>
                        <input type="hidden" name="area" value=area_value(area)/>
                        <div class="field">
                            <label for="field-event_type">"Event type"</label>
                            <input id="field-event_type" name="event_type" value=first_type list="event-type-names"
                                aria-describedby="field-event_type-hint field-event_type-error"
                                on:change=move |ev| {
                                    let name = event_target_value(&ev);
                                    if let Some((_, ex)) = examples.iter().find(|(n, _)| *n == name) {
                                        set_payload.set(ex.clone());
                                    }
                                }/>
                            <datalist id="event-type-names">
                                {types.iter().map(|t| view! { <option value=t.name.clone()/> }).collect_view()}
                            </datalist>
                            <p class="hint" id="field-event_type-hint">"One from the catalogue (its example fills the payload), or any other name."</p>
                            <p class="error" id="field-event_type-error" role="alert">{field_error(send_result, "event_type")}</p>
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
                }.into_any()
            }}
        </section>
        })}
        {(area == Area::Developer && !o.read_only).then(|| view! { <InboxesPanel o=o.clone() inbox/> })}
    }
}

/// The application's test-inbox endpoints, and a button for a new one.
#[component]
fn InboxesPanel(o: AppDashboard, inbox: ServerAction<CreateTestInbox>) -> impl IntoView {
    let general = move || {
        inbox
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    let app_id = o.app.id.clone();
    let mine: Vec<(String, String, String)> = o
        .inboxes
        .iter()
        .filter_map(|(ep, inbox)| {
            let e = o.endpoints.iter().find(|e| e.id == *ep)?;
            Some((e.id.clone(), e.url.clone(), inbox.clone()))
        })
        .collect();
    view! {
        <section class="card">
            <h2>"Test inboxes"</h2>
            <p class="muted">
                "A test inbox is an endpoint served by Hookline itself: every delivery to it is recorded and shown, "
                "with its signature checked. Tell it to answer 500 or to be slow to watch retries and the circuit breaker."
            </p>
            {if mine.is_empty() {
                view! { <p class="empty">"This application has no test inbox yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="inboxes">
                        {mine.into_iter().map(|(ep, url, id)| view! {
                            <li>
                                <a href=paths::inbox(&id)>"Open inbox"</a> " "
                                <code>{url}</code> " · "
                                <a href=Area::Developer.endpoint(&o.app.id, &ep)>"its endpoint"</a>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionForm action=inbox attr:class="inline">
                <SubmissionToken version=inbox.version()/>
                <input type="hidden" name="app" value=app_id/>
                <button type="submit" class="button secondary" disabled=move || inbox.pending().get()>"Create a test inbox endpoint"</button>
            </ActionForm>
            <p class="error" role="alert">{general}</p>
        </section>
    }
}
