//! The message log: filters in the query string (a plain GET form, so it works without
//! JavaScript and every view has a link), newest first, paginated.
use super::Topbar;
use crate::log::{message_log, LogPage, LogQuery};
use crate::paths::Area;
use domain::types::MessageOutcome;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn MessagesPage(#[prop(optional)] area: Area) -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let current = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        LogQuery {
            event_type: get("event_type"),
            status: get("status"),
            after: get("after"),
            before: get("before"),
            q: get("q"),
            search: get("search"),
            channel: get("channel"),
            tag: get("tag"),
            iterator: get("iterator"),
        }
    };
    let log = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), current()),
        |(app, q)| message_log(app, q),
    );
    view! {
        <Topbar area/>
        <main class="container">
            <Transition fallback=|| view! { <h1>"Message log"</h1> <super::PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(page) => view! { <LogView page=page query=current() area/> }.into_any(),
                        Err(e) => super::load_error(e, area),
                    }
                })}
            </Transition>
        </main>
    }
}

fn outcome_badges(m: &MessageOutcome) -> impl IntoView {
    view! {
        {(m.succeeded > 0).then(|| view! { <span class="badge ok">{format!("{} succeeded", m.succeeded)}</span> })}
        {(m.pending > 0).then(|| view! { <span class="badge pending">{format!("{} pending", m.pending)}</span> })}
        {(m.failed > 0).then(|| view! { <span class="badge fail">{format!("{} failed", m.failed)}</span> })}
        {(m.succeeded + m.pending + m.failed == 0).then(|| view! { <span class="muted">"no endpoints"</span> })}
    }
}

#[component]
fn LogView(page: LogPage, query: LogQuery, area: Area) -> impl IntoView {
    let here = area.messages(&page.app_id);
    let filtered = !query.event_type.is_empty()
        || !query.status.is_empty()
        || !query.q.is_empty()
        || !query.search.is_empty()
        || !query.channel.is_empty()
        || !query.tag.is_empty()
        || !query.after.is_empty()
        || !query.before.is_empty();
    let statuses = [
        ("", "Any status"),
        ("succeeded", "Succeeded"),
        ("pending", "Pending"),
        ("failed", "Failed"),
    ];
    view! {
        <p><a href=area.app(&page.app_id)>{format!("← {}", page.app_name)}</a></p>
        <h1>"Message log"</h1>
        {page.read_only.then(|| super::read_only_notice(area))}
        <form method="get" action=here.clone() class="filters" role="search" aria-label="Filter messages">
            <div class="field wide">
                <label for="f-search">"Payload search"</label>
                <input id="f-search" name="search" value=query.search.clone()
                    placeholder="customer.id = \"cus_1\" or words"
                    maxlength=domain::search::MAX_LEN.to_string()
                    aria-describedby="f-search-help"
                    aria-invalid=page.search_error.is_some().then_some("true")/>
                <small id="f-search-help" class="muted">
                    <code>"field = value"</code>" matches a payload field ("<code>"lines[].sku = pro"</code>
                    " for arrays); other words match its values; "<code>"\"a phrase\""</code>", "<code>"-word"</code>", "<code>"or"</code>"."
                </small>
                {page.search_error.clone().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </div>
            <div class="field">
                <label for="f-q">"Message id or eventId"</label>
                <input id="f-q" name="q" value=query.q.clone() placeholder="msg_… or your eventId"/>
            </div>
            <div class="field">
                <label for="f-channel">"Channel"</label>
                <input id="f-channel" name="channel" value=query.channel.clone() placeholder="any"/>
            </div>
            <div class="field">
                <label for="f-tag">"Tag"</label>
                <input id="f-tag" name="tag" value=query.tag.clone() placeholder="any"/>
            </div>
            <div class="field">
                <label for="f-type">"Event type"</label>
                <select id="f-type" name="event_type">
                    <option value="" selected=query.event_type.is_empty()>"Any event type"</option>
                    {page.event_types.iter().map(|t| view! {
                        <option value=t.clone() selected=*t == query.event_type>{t.clone()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="f-status">"Delivery status"</label>
                <select id="f-status" name="status">
                    {statuses.into_iter().map(|(v, label)| view! {
                        <option value=v selected=query.status == v>{label}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="f-after">"From (UTC)"</label>
                <input id="f-after" name="after" type="datetime-local" value=query.after.clone()/>
            </div>
            <div class="field">
                <label for="f-before">"Until (UTC)"</label>
                <input id="f-before" name="before" type="datetime-local" value=query.before.clone()/>
            </div>
            <div class="field actions">
                <button type="submit" class="button">"Filter"</button>
                {filtered.then(|| view! { <a href=here.clone()>"Clear"</a> })}
            </div>
        </form>
        {if page.messages.is_empty() {
            view! { <p class="empty" role="status">{if page.search_error.is_some() {
                "Nothing was searched: the payload search above needs a change."
            } else if filtered {
                "No message matches these filters."
            } else {
                "No messages yet."
            }}</p> }.into_any()
        } else {
            let app = page.app_id.clone();
            view! {
                <table class="list" aria-label="Messages">
                    <thead><tr><th>"Message"</th><th>"Event type"</th><th>"Sent"</th><th>"Deliveries"</th></tr></thead>
                    <tbody>
                        {page.messages.iter().map(|m| view! {
                            <tr>
                                <td>
                                    <a href=area.message(&app, &m.message.id)><code>{m.message.id.clone()}</code></a>
                                    {m.message.event_id.clone().map(|e| view! { <br/><span class="muted">{format!("eventId {e}")}</span> })}
                                </td>
                                <td>{m.message.event_type.clone()}</td>
                                <td>{m.message.timestamp.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                                <td>{outcome_badges(m)}</td>
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
