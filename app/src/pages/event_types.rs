//! The event-type catalogue: create or edit (name, description, JSON schema, example), and
//! archive. `?edit=NAME` opens the edit form, so every step works without JavaScript too.
use super::{field_error, reset_on_success, Field, SubmissionToken, Topbar};
use crate::catalog::{list_event_types, schema_text, AddEventType, ArchiveEventType, UpdateEventType};
use crate::paths::{self, Area};
use domain::types::EventTypeOut;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn EventTypesPage() -> impl IntoView {
    let add = ServerAction::<AddEventType>::new();
    let update = ServerAction::<UpdateEventType>::new();
    let archive = ServerAction::<ArchiveEventType>::new();
    let query = use_query_map();
    let types = Resource::new(
        move || {
            (
                add.version().get(),
                update.version().get(),
                archive.version().get(),
            )
        },
        |_| list_event_types(),
    );
    let result = add.value();
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(add, form);
    super::provide_role();
    let role = super::role_resource();
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Event types"</h1>
            <p class="lead">"The kinds of events your service sends, with a description, a schema and an example for the people who receive them. Endpoints subscribe to these names; a message may also use a name that is not here."</p>
            <Suspense fallback=|| view! { <super::PageSkeleton title="The catalogue"/> }>
                {move || Suspend::new(async move {
                    let editing = query.read().get("edit");
                    let can = role.allows(domain::types::Role::Developer).await;
                    match types.await {
                        Ok(list) => {
                            let form = editing
                                .filter(|_| can)
                                .and_then(|n| list.iter().find(|t| t.name == n).cloned())
                                .map(|t| view! { <EditForm t=t update=update/> });
                            view! {
                                {form}
                                <TypeList list=list archive=archive can/>
                            }
                            .into_any()
                        }
                        Err(e) => super::load_error(e, Area::Developer),
                    }
                })}
            </Suspense>
            <super::RoleGate otherwise="You are a viewer here: you see the catalogue but cannot change it.">
            <section class="card" aria-labelledby="new-type-h">
                <h2 id="new-type-h">"New event type"</h2>
                <ActionForm action=add node_ref=form attr:class="form" attr:novalidate=true>
                    <SubmissionToken version=add.version()/>
                    <Field label="Name" name="name" required=true hint="Letters, digits, '.', '-' and '_', e.g. invoice.paid."
                        error=Signal::derive(field_error(result, "name"))/>
                    <Field label="Description" name="description" error=Signal::derive(field_error(result, "description"))/>
                    <div class="field">
                        <label for="field-schema">"JSON schema (optional)"</label>
                        <textarea id="field-schema" name="schema" rows="4" placeholder="{\"type\": \"object\"}"></textarea>
                        <p class="error" role="alert">{field_error(result, "schema")}</p>
                    </div>
                    <div class="field">
                        <label for="field-example">"Example payload (optional)"</label>
                        <textarea id="field-example" name="example" rows="4" placeholder="{\"invoiceId\": \"inv_1\", \"amount\": 4200}"></textarea>
                        <p class="error" role="alert">{field_error(result, "example")}</p>
                    </div>
                    <p class="error" role="alert">{general}</p>
                    <button type="submit" class="button" disabled=move || add.pending().get()>"Create event type"</button>
                </ActionForm>
            </section>
            </super::RoleGate>
        </main>
    }
}

#[component]
fn TypeList(list: Vec<EventTypeOut>, archive: ServerAction<ArchiveEventType>, can: bool) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No event types yet. Create one below: a name like " <code>"invoice.paid"</code> ", what it means, and an example payload."</p> }.into_any();
    }
    view! {
        <table class="list" aria-label="Event types">
            <thead><tr><th>"Name"</th><th>"Description"</th><th>"Actions"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|t| view! {
                    <tr>
                        <td><code>{t.name.clone()}</code></td>
                        <td>{if t.description.trim().is_empty() {
                            view! { <span class="muted">"No description yet"</span> }.into_any()
                        } else {
                            view! { {t.description.clone()} }.into_any()
                        }}</td>
                        <td class="actions">
                            {can.then(|| view! {
                                <a href=format!("{}?edit={}", paths::EVENT_TYPES, t.name) aria-label=format!("Edit {}", t.name)>"Edit"</a>
                                " "
                                <ActionForm action=archive attr:class="inline">
                                    <input type="hidden" name="name" value=t.name.clone()/>
                                    <button type="submit" class="link danger" aria-label=format!("Archive {}", t.name)>"Archive"</button>
                                </ActionForm>
                            })}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn EditForm(t: EventTypeOut, update: ServerAction<UpdateEventType>) -> impl IntoView {
    let result = update.value();
    let saved = move || result.get().is_some_and(|r| r.is_ok());
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    // the example of version "1", the version this form edits
    let example = t
        .schemas
        .as_ref()
        .and_then(|s| s.get("1"))
        .and_then(|v| v.get("examples"))
        .and_then(|e| e.as_array())
        .and_then(|a| a.first())
        .and_then(|ex| serde_json::to_string_pretty(ex).ok())
        .unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="edit-type-h">
            <h2 id="edit-type-h">"Edit " <code>{t.name.clone()}</code></h2>
            <ActionForm action=update attr:class="form" attr:novalidate=true>
                <input type="hidden" name="name" value=t.name.clone()/>
                <div class="field">
                    <label for="edit-description">"Description"</label>
                    <input id="edit-description" name="description" value=t.description.clone()/>
                </div>
                <div class="field">
                    <label for="edit-schema">"JSON schema"</label>
                    <textarea id="edit-schema" name="schema" rows="6">{schema_text(&t)}</textarea>
                    <p class="error" role="alert">{field_error(result, "schema")}</p>
                </div>
                <div class="field">
                    <label for="edit-example">"Example payload"</label>
                    <textarea id="edit-example" name="example" rows="4">{example}</textarea>
                    <p class="error" role="alert">{field_error(result, "example")}</p>
                </div>
                <p class="error" role="alert">{general}</p>
                <div>
                    <button type="submit" class="button" disabled=move || update.pending().get()>"Save event type"</button>
                    " " <a href=paths::EVENT_TYPES>"Done"</a>
                    {move || saved().then(|| view! { <span role="status" class="ok">" Saved."</span> })}
                </div>
            </ActionForm>
        </section>
    }
}
