//! The audit log: who changed what and when. Filters are in the query string (a plain GET
//! form, so every view has a link), newest first, paginated.
use super::Topbar;
use crate::audit::{audit_log, AuditPage, AuditQuery};
use crate::paths::{self, Area};
use domain::types::{audit_action_label, AuditEntryOut, AUDIT_ACTIONS};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let current = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        AuditQuery {
            action: get("action"),
            actor: get("actor"),
            app: get("app"),
            iterator: get("iterator"),
        }
    };
    let log = Resource::new(current, audit_log);
    view! {
        <Topbar/>
        <main class="container audit">
            <Transition fallback=|| view! { <h1>"Audit log"</h1> <super::PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(page) => view! { <AuditView page=page query=current()/> }.into_any(),
                        Err(e) => super::load_error(e, Area::Developer),
                    }
                })}
            </Transition>
        </main>
    }
}

fn actor_kind(kind: &str) -> &'static str {
    match kind {
        "user" => "person",
        "api_key" => "API key",
        "portal_link" => "portal link",
        "operator" => "operator",
        _ => "",
    }
}

/// What the entry's details say, in a line: changed fields, a task's count, a key's name.
fn details_line(e: &AuditEntryOut) -> String {
    let d = &e.details;
    let mut parts = Vec::new();
    if let Some(fields) = d["fields"].as_array() {
        let names: Vec<&str> = fields.iter().filter_map(|f| f.as_str()).collect();
        if !names.is_empty() {
            parts.push(format!("changed {}", names.join(", ")));
        }
    }
    for (key, label) in [
        ("deliveriesQueued", "deliveries queued"),
        ("messagesQueued", "messages queued"),
        ("sessionsEnded", "other sessions ended"),
    ] {
        if let Some(n) = d[key].as_i64() {
            parts.push(format!("{n} {label}"));
        }
    }
    if let Some(name) = d["name"].as_str() {
        parts.push(format!("“{name}”"));
    }
    if d["readOnly"].as_bool() == Some(true) {
        parts.push("read-only".into());
    }
    if let Some(ep) = d["endpoint"].as_str() {
        parts.push(format!("to {ep}"));
    }
    parts.join(" · ")
}

#[component]
fn AuditView(page: AuditPage, query: AuditQuery) -> impl IntoView {
    let here = paths::AUDIT_LOG;
    let filtered = query.filtered();
    let app_name = {
        let apps = page.apps.clone();
        move |id: &str| {
            apps.iter()
                .find(|(a, _)| a == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| format!("{id} (deleted)"))
        }
    };
    view! {
        <h1>"Audit log"</h1>
        <p class="lead">"Who changed what, and when: endpoints, signing secrets, API keys, recoveries and replays."</p>
        <form method="get" action=here class="filters" role="search" aria-label="Filter the audit log">
            <div class="field">
                <label for="f-action">"Action"</label>
                <select id="f-action" name="action">
                    <option value="" selected=query.action.is_empty()>"Any action"</option>
                    {AUDIT_ACTIONS.iter().map(|(code, label)| view! {
                        <option value=*code selected=query.action == *code>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="f-actor">"Who"</label>
                <input id="f-actor" name="actor" value=query.actor.clone() placeholder="an email or key prefix"/>
            </div>
            <div class="field">
                <label for="f-app">"Application"</label>
                <select id="f-app" name="app">
                    <option value="" selected=query.app.is_empty()>"Any application"</option>
                    {page.apps.iter().map(|(id, name)| view! {
                        <option value=id.clone() selected=query.app == *id>{name.clone()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field actions">
                <button type="submit" class="button">"Filter"</button>
                {filtered.then(|| view! { <a href=here>"Clear"</a> })}
            </div>
        </form>
        {if page.entries.is_empty() {
            view! { <p class="empty" role="status">{if filtered { "No entry matches these filters." } else { "Nothing has been changed yet." }}</p> }.into_any()
        } else {
            view! {
                <table class="list" aria-label="Audit log">
                    <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"What"</th><th>"Application"</th><th>"Details"</th></tr></thead>
                    <tbody>
                        {page.entries.iter().map(|e| view! {
                            <tr>
                                <td>{e.timestamp.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                <td>{e.actor.name.clone()} <br/><span class="muted">{actor_kind(&e.actor.kind)}</span></td>
                                <td>
                                    {audit_action_label(&e.action).to_string()}
                                    {e.target.clone().map(|t| view! { <br/><code class="muted">{t}</code> })}
                                </td>
                                <td>{e.app_id.as_deref().map(&app_name)}</td>
                                <td>{details_line(e)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        <super::Pager
            newer=page.newer.map(|it| format!("{here}{}", query.with_iterator(&it)))
            older=page.older.map(|it| format!("{here}{}", query.with_iterator(&it)))/>
    }
}
