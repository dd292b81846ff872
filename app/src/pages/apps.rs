//! The organisation's applications: list, create, delete.
use super::{reset_on_success, Field, PageSkeleton, SubmissionToken, Topbar};
use crate::api::{list_apps, CreateApp, DeleteApp};
use crate::paths::Area;
use leptos::prelude::*;

#[component]
pub fn AppsPage() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let delete = ServerAction::<DeleteApp>::new();
    let apps = Resource::new(
        move || (create.version().get(), delete.version().get()),
        |_| list_apps(),
    );
    super::provide_role();
    let role = super::role_resource();
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on_success(create, form);
    let create_result = create.value();
    let create_error = move |field: &'static str| {
        move || {
            create_result
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.for_field(field))
        }
    };
    let create_general = move || {
        create_result
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Applications"</h1>
            <p class="lead">"Each application is one of your customers: it has its own endpoints and message log."</p>
            <super::RoleGate otherwise="You are a viewer here: you see the applications but cannot add or delete them.">
            <section class="card">
                <h2>"New application"</h2>
                <ActionForm action=create node_ref=form attr:class="form inline-form" attr:novalidate=true>
                    <SubmissionToken version=create.version()/>
                    <Field label="Name" name="name" required=true error=Signal::derive(create_error("name"))/>
                    <Field label="UID (optional)" name="uid" hint="Your own id for it, e.g. customer-42."
                        error=Signal::derive(create_error("uid"))/>
                    <button type="submit" class="button" disabled=move || create.pending().get()>"Create"</button>
                </ActionForm>
                <p class="error" role="alert">{create_general}</p>
            </section>
            </super::RoleGate>
            <Suspense fallback=|| view! { <PageSkeleton title="Your applications"/> }>
                {move || Suspend::new(async move {
                    let can = role.allows(domain::types::Role::Developer).await;
                    match apps.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No applications yet. Create your first one above, or "
                                <a href=crate::paths::WELCOME>"follow the four-step guide"</a> " to a first delivery."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <table class="list" aria-label="Applications">
                                <thead><tr><th>"Name"</th><th>"UID"</th><th>"ID"</th><th>"Created"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|a| {
                                        let id = a.id.clone();
                                        view! {
                                            <tr>
                                                <td><a href=crate::paths::app(&a.id)>{a.name}</a></td>
                                                <td>{a.uid.unwrap_or_default()}</td>
                                                <td><code>{a.id}</code></td>
                                                <td>{a.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                                <td>
                                                    {can.then(|| view! {
                                                        <ActionForm action=delete attr:class="inline">
                                                            <input type="hidden" name="id" value=id/>
                                                            <button type="submit" class="link danger">"Delete"</button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }
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
