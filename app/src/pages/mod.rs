//! Pages and the pieces they share.
pub mod app_detail;
pub mod apps;
pub mod auth;
pub mod endpoint;
pub mod event_types;
pub mod home;
pub mod keys;
pub mod message;
pub mod messages;

use crate::api::{current_account, Logout};
use crate::error::PortalError;
use crate::paths::{self, Area};
use leptos::prelude::*;

/// The header on every page: brand, navigation, and who is logged in. The consumer portal's
/// header names no organisation and links nowhere outside the one application.
#[component]
pub fn Topbar(#[prop(optional)] area: Area) -> impl IntoView {
    if area == Area::Consumer {
        return view! {
            <header class="topbar">
                <span class="brand">"Webhooks"</span>
                <nav class="nav"><span class="who">"Endpoints, deliveries and signing secrets"</span></nav>
            </header>
        }
        .into_any();
    }
    let account = Resource::new(|| (), |_| current_account());
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <a class="brand" href=paths::HOME>"Hookline"</a>
            <nav class="nav">
                <a href=paths::APPS>"Applications"</a>
                <a href=paths::EVENT_TYPES>"Event types"</a>
                <a href=paths::API_KEYS>"API keys"</a>
                <a href=paths::DOCS>"API docs"</a>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match account.await {
                            Ok(Some(a)) => view! {
                                <span class="who" title=a.email.clone()>{a.org_name.clone()}</span>
                                <ActionForm action=logout attr:class="inline">
                                    <button type="submit" class="link">"Log out"</button>
                                </ActionForm>
                            }.into_any(),
                            _ => view! {
                                <a href=paths::LOGIN>"Log in"</a>
                                <a class="button small" href=paths::SIGNUP>"Sign up"</a>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
    }
    .into_any()
}

/// The message under one input, from the last submission's error.
pub fn field_error<S, T>(result: S, field: &'static str) -> impl Fn() -> Option<String> + Copy
where
    S: Get<Value = Option<Result<T, PortalError>>> + Copy,
{
    move || {
        result
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(field))
    }
}

/// A labelled input with its inline error, wired for screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] required: bool,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let err_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=required
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=err_id.clone()
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <p class="error" id=err_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// What a page shows when loading its data failed: a way back in after the session ended,
/// otherwise the error in words.
pub fn load_error(e: PortalError, area: Area) -> AnyView {
    match (e, area) {
        (PortalError::LoggedOut, Area::Developer) => view! {
            <p>"Your session has ended. " <a href=paths::LOGIN>"Log in again"</a></p>
        }
        .into_any(),
        (PortalError::LoggedOut | PortalError::LinkExpired, Area::Consumer) => view! {
            <p class="error" role="alert">"This portal link has expired. Ask for a new link to continue."</p>
        }
        .into_any(),
        (e, _) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}

/// A button that copies `text` to the clipboard. It works from the first paint (an inline
/// handler, not a hydrated one), since secrets are shown in server-rendered pages too.
#[component]
pub fn CopyButton(text: String) -> impl IntoView {
    view! {
        <button type="button" class="button small" data-key=text
            onclick="navigator.clipboard.writeText(this.dataset.key).then(() => { this.textContent = 'Copied'; })">"Copy"</button>
    }
}

/// Shown on every page of a read-only consumer-portal link.
#[component]
pub fn ReadOnlyNotice() -> impl IntoView {
    view! {
        <p class="notice" role="note" data-testid="read-only">
            "This link is read-only: you can see endpoints, secrets and deliveries, but not change them."
        </p>
    }
}
