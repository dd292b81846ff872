//! The event-type catalogue: create (name, description, JSON schema, example), archive.
use super::{field_error, Field, Topbar};
use crate::catalog::{list_event_types, AddEventType, ArchiveEventType};
use crate::paths::Area;
use leptos::prelude::*;

#[component]
pub fn EventTypesPage() -> impl IntoView {
    let add = ServerAction::<AddEventType>::new();
    let archive = ServerAction::<ArchiveEventType>::new();
    let types = Resource::new(
        move || (add.version().get(), archive.version().get()),
        |_| list_event_types(),
    );
    let result = add.value();
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Event types"</h1>
            <p class="lead">"The kinds of events your service sends. Endpoints subscribe to them; messages must use one."</p>
            <section class="card">
                <h2>"New event type"</h2>
                <ActionForm action=add attr:class="form" attr:novalidate=true>
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
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match types.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No event types yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list" aria-label="Event types">
                                <thead><tr><th>"Name"</th><th>"Description"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|t| view! {
                                        <tr>
                                            <td><code>{t.name.clone()}</code></td>
                                            <td>{t.description.clone()}</td>
                                            <td>
                                                <ActionForm action=archive attr:class="inline">
                                                    <input type="hidden" name="name" value=t.name.clone()/>
                                                    <button type="submit" class="link danger">"Archive"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => super::load_error(e, Area::Developer),
                    }
                })}
            </Suspense>
        </main>
    }
}
