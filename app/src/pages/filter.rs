//! The payload filter's field in the endpoint forms, and *Try the filter*: the filter being
//! typed, tried on the event type's example (or a pasted payload) before it is saved.
use super::field_error;
use crate::endpoint::TryFilter;
use crate::error::PortalError;
use leptos::prelude::*;

/// What the filter field's hint says a filter is.
pub const FILTER_HINT: &str = "A CEL expression over payload, eventType, channels and tags: only messages for which it is true are sent here. Leave it empty for every message. Example: payload.amount >= 100 && \"eu\" in channels";

/// The filter's text area; `on_input` follows what is typed (for *Try the filter*).
#[component]
pub fn FilterField<S>(
    value: String,
    result: S,
    #[prop(optional)] on_input: Option<WriteSignal<String>>,
) -> impl IntoView
where
    S: Get<Value = Option<Result<domain::types::EndpointOut, PortalError>>> + Copy + Send + Sync + 'static,
{
    view! {
        <div class="field">
            <label for="field-filter">"Payload filter (optional)"</label>
            <textarea id="field-filter" name="filter" rows="3" spellcheck="false" class="code"
                aria-describedby="field-filter-hint field-filter-error"
                on:input=move |ev| if let Some(w) = on_input { w.set(event_target_value(&ev)) }>{value}</textarea>
            <p class="hint" id="field-filter-hint">{FILTER_HINT}</p>
            <p class="error" id="field-filter-error" role="alert">{field_error(result, "filter")}</p>
        </div>
    }
}

/// Tries the filter as typed (`filter`) on a message, without saving anything.
#[component]
pub fn FilterTry(app: String, event_types: Vec<String>, filter: ReadSignal<String>) -> impl IntoView {
    let try_it = ServerAction::<TryFilter>::new();
    let result = try_it.value();
    let first = event_types.first().cloned().unwrap_or_default();
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    view! {
        <ActionForm action=try_it attr:class="form filter-try" attr:novalidate=true>
            <h3>"Try the filter"</h3>
            <p class="hint">"On a message of your choosing, before you save: nothing is sent."</p>
            <input type="hidden" name="app" value=app/>
            <input type="hidden" name="filter" prop:value=move || filter.get()/>
            <div class="field">
                <label for="try-event_type">"Event type"</label>
                <input id="try-event_type" name="event_type" value=first list="try-event-types"/>
                <datalist id="try-event-types">
                    {event_types.into_iter().map(|t| view! { <option value=t/> }).collect_view()}
                </datalist>
            </div>
            <div class="field">
                <label for="try-channels">"Channels (comma-separated, optional)"</label>
                <input id="try-channels" name="channels"/>
            </div>
            <div class="field">
                <label for="try-payload">"Payload (JSON; leave empty for the event type's example)"</label>
                <textarea id="try-payload" name="payload" rows="4" spellcheck="false" class="code"
                    aria-describedby="try-payload-error"></textarea>
                <p class="error" id="try-payload-error" role="alert">{field_error(result, "payload")}</p>
            </div>
            <p class="error" role="alert">{field_error(result, "filter")}</p>
            <p class="error" role="alert">{general}</p>
            <button type="submit" class="button secondary" disabled=move || try_it.pending().get()>"Try it"</button>
            {move || result.get().and_then(|r| r.ok()).map(|r| view! {
                <div class="filter-result" role="status" data-testid="filter-result">
                    <p class=if r.passes { "ok" } else { "error" }>
                        {if r.passes {
                            "Passes: this endpoint would get the message.".to_string()
                        } else {
                            match r.reason {
                                Some(why) => format!("Does not pass: the filter could not be evaluated ({why})."),
                                None => "Does not pass: this endpoint would not get the message.".to_string(),
                            }
                        }}
                    </p>
                    <details>
                        <summary>"The payload tried"</summary>
                        <pre>{r.payload}</pre>
                    </details>
                </div>
            })}
        </ActionForm>
    }
}
