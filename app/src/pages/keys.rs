//! API keys: create (shown once, with a copy button), list with prefix and last use, revoke.
use super::{CopyButton, Field, Topbar};
use crate::api::{list_api_keys, list_apps, CreateApiKey, RevokeApiKey};
use crate::paths::Area;
use leptos::prelude::*;

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let apps = Resource::new(|| (), |_| list_apps());
    let created = create.value();
    let new_key = move || created.get().and_then(|r| r.ok());
    let name_error = move || {
        created
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field("name"))
    };
    view! {
        <Topbar/>
        <main class="container">
            <h1>"API keys"</h1>
            <p class="lead">"Your backend sends " <code>"Authorization: Bearer <key>"</code> " with every API call. A key may reach every application or only one, and may be read-only: anything out of its reach answers 403."</p>
            <super::RoleGate needed=domain::types::Role::Admin otherwise="Only an admin makes and revokes API keys.">
            <section class="card">
                <h2>"New key"</h2>
                <ActionForm action=create attr:class="form inline-form" attr:novalidate=true>
                    <Field label="Key name" name="name" required=true hint="Where it is used, e.g. billing-backend."
                        error=Signal::derive(name_error)/>
                    <div class="field">
                        <label for="field-app">"Reaches"</label>
                        <select id="field-app" name="app">
                            <option value="">"Every application"</option>
                            <Suspense fallback=|| ()>
                                {move || Suspend::new(async move {
                                    apps.await.unwrap_or_default().into_iter().map(|a| view! {
                                        <option value=a.id.clone()>{format!("Only {}", a.name)}</option>
                                    }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </div>
                    <label class="check"><input type="checkbox" name="read_only" value="true"/>"Read-only"</label>
                    <button type="submit" class="button" disabled=move || create.pending().get()>"Create key"</button>
                </ActionForm>
                {move || new_key().map(|k| view! {
                    <div class="secret-box" role="status">
                        <p><strong>"Copy this key now: it will not be shown again."</strong></p>
                        <code class="secret" id="new-api-key">{k.clone()}</code>
                        " "
                        <CopyButton text=k/>
                    </div>
                })}
            </section>
            </super::RoleGate>
            <Suspense fallback=|| view! { <super::PageSkeleton title="Your keys"/> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No API keys yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list" aria-label="API keys">
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Reaches"</th><th>"Created"</th><th>"Last used"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|k| {
                                        let id = k.id.clone();
                                        let revoked = k.revoked_at.is_some();
                                        view! {
                                            <tr class:revoked=revoked>
                                                <td>{k.name}</td>
                                                <td><code>{format!("{}…", k.prefix)}</code></td>
                                                <td>
                                                    {match (&k.app_id, &k.app_name) {
                                                        (Some(_), Some(name)) => format!("Only {name}"),
                                                        (Some(id), None) => format!("Only {id}"),
                                                        _ => "Every application".to_string(),
                                                    }}
                                                    {k.read_only.then(|| view! { " " <span class="badge">"read-only"</span> })}
                                                </td>
                                                <td>{when(Some(k.created_at))}</td>
                                                <td>{when(k.last_used_at)}</td>
                                                <td>
                                                    {if revoked {
                                                        view! { <span class="muted">"revoked"</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <ActionForm action=revoke attr:class="inline">
                                                                <input type="hidden" name="id" value=id/>
                                                                <button type="submit" class="link danger">"Revoke"</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    }}
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
