//! Pages and the pieces they share.
pub mod account;
pub mod app_detail;
pub mod app_testing;
pub mod apps;
pub mod audit;
pub mod auth;
pub mod endpoint;
pub mod event_types;
pub mod filter;
pub mod home;
pub mod inbox;
pub mod keys;
pub mod members;
pub mod message;
pub mod messages;
pub mod notifications;
pub mod overview;
pub mod welcome;

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
    // a stranger sees only where they can go: the docs, logging in, signing up
    view! {
        <header class="topbar">
            <a class="brand" href=paths::HOME>"Hookline"</a>
            <nav class="nav" aria-label="Main">
                <Suspense fallback=|| view! { <a href=paths::DOCS>"API docs"</a> }>
                    {move || Suspend::new(async move {
                        match account.await {
                            Ok(Some(a)) => view! {
                                <a href=paths::OVERVIEW>"Overview"</a>
                                <a href=paths::APPS>"Applications"</a>
                                <a href=paths::EVENT_TYPES>"Event types"</a>
                                <a href=paths::INBOXES>"Test inboxes"</a>
                                <a href=paths::NOTIFICATIONS>"Notifications"</a>
                                {(a.role == domain::types::Role::Admin).then(|| view! { <a href=paths::API_KEYS>"API keys"</a> })}
                                <a href=paths::MEMBERS>"Members"</a>
                                <a href=paths::AUDIT_LOG>"Audit log"</a>
                                <a href=paths::DOCS>"API docs"</a>
                                <OrgSwitcher account=a.clone()/>
                                <a class="who" href=paths::ACCOUNT title=format!("{}: your account", a.email)>{a.org_name.clone()}</a>
                                <ActionForm action=logout attr:class="inline">
                                    <button type="submit" class="link">"Log out"</button>
                                </ActionForm>
                            }.into_any(),
                            _ => view! {
                                <a href=paths::DOCS>"API docs"</a>
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

/// The random prefix of this page's form submission tokens, made on the server (so the page
/// renders and hydrates with the same one); provided once per page load by [`crate::App`].
#[derive(Clone, Copy)]
pub struct FormNonce(pub Resource<Result<String, PortalError>>);

/// The hidden input that makes a form's double submission one object: the page's nonce, this
/// form's instance and how many times it has succeeded (`version`), so a double click sends
/// one token twice (the server runs it once) while the next real submission sends a new one.
/// The instance matters: a form drawn again after the user went elsewhere in the same page
/// load starts at version 0 again, and without it would send the first form's token and get
/// the first submission's answer back instead of a new object.
#[component]
pub fn SubmissionToken(#[prop(into)] version: Signal<usize>) -> impl IntoView {
    static INSTANCES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let Some(FormNonce(nonce)) = use_context::<FormNonce>() else {
        return view! { <input type="hidden" name="submission" value=""/> }.into_any();
    };
    // drawn on the server ("s") or in the browser ("c"); a hydrated form keeps the server's
    let instance = format!(
        "{}{}",
        if cfg!(feature = "ssr") { "s" } else { "c" },
        INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    // read inside a Suspense, so the page's HTML carries the nonce and hydration finds it
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let instance = instance.clone();
                Suspend::new(async move {
                let n = nonce.await.unwrap_or_default();
                let value = move || format!("{n}-{instance}-{}", version.get());
                view! { <input type="hidden" name="submission" value=value/> }
            })
            }}
        </Suspense>
    }
    .into_any()
}

/// What a page shows while its data loads: grey blocks where the content will be, marked
/// busy for screen readers.
#[component]
pub fn PageSkeleton(#[prop(optional)] title: &'static str) -> impl IntoView {
    view! {
        <div class="skeleton" aria-busy="true" aria-live="polite">
            {(!title.is_empty()).then(|| view! { <h2>{title}</h2> })}
            <span class="sr-only">"Loading"</span>
            <div class="sk-line wide"></div>
            <div class="sk-line"></div>
            <div class="sk-block"></div>
            <div class="sk-line"></div>
        </div>
    }
}

/// Resets a form once its action succeeds, so a second click does not send it again.
pub fn reset_on_success<A, T>(action: ServerAction<A>, form: NodeRef<leptos::html::Form>)
where
    A: leptos::server_fn::ServerFn<Output = T, Error = PortalError> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            if let Some(f) = form.get() {
                f.reset();
            }
        }
    });
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
pub fn read_only_notice(area: Area) -> impl IntoView {
    let text = match area {
        Area::Consumer => "This link is read-only: you can see endpoints, secrets and deliveries, but not change them.",
        Area::Developer => "You are a viewer in this organisation: you can see endpoints, secrets and deliveries, but not change them.",
    };
    view! { <p class="notice" role="note" data-testid="read-only">{text}</p> }
}

/// Links to the newer and older pages of a list, when there are such pages.
#[component]
pub fn Pager(newer: Option<String>, older: Option<String>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {newer.map(|href| view! { <a href=href rel="prev">"← Newer"</a> })}
            {older.map(|href| view! { <a href=href rel="next">"Older →"</a> })}
        </nav>
    }
}

/// The header's choice of organisation, for a person who belongs to several.
#[component]
fn OrgSwitcher(account: crate::api::AccountView) -> impl IntoView {
    let switch = ServerAction::<crate::members::SwitchOrg>::new();
    (account.orgs.len() > 1).then(|| {
        view! {
            <ActionForm action=switch attr:class="inline org-switch">
                <label class="sr-only" for="org-switch">"Organisation"</label>
                <select id="org-switch" name="org">
                    {account.orgs.iter().map(|(id, name)| view! {
                        <option value=id.clone() selected=*id == account.org_id>{name.clone()}</option>
                    }).collect_view()}
                </select>
                <button type="submit" class="link">"Switch"</button>
            </ActionForm>
        }
    })
}

/// The person's account, shared by a page's [`RoleGate`]s (one lookup per page).
#[derive(Clone, Copy)]
pub struct RoleResource(Resource<Result<Option<crate::api::AccountView>, PortalError>>);

/// Makes the page's [`RoleGate`]s share one lookup of the account.
pub fn provide_role() {
    provide_context(RoleResource(Resource::new(|| (), |_| current_account())));
}

/// The page's shared account lookup, or a new one.
pub fn role_resource() -> RoleResource {
    use_context::<RoleResource>().unwrap_or_else(|| RoleResource(Resource::new(|| (), |_| current_account())))
}

impl RoleResource {
    /// Whether the person's role is at least `needed`.
    pub async fn allows(self, needed: domain::types::Role) -> bool {
        matches!(self.0.await, Ok(Some(a)) if a.role >= needed)
    }
}

/// Shows its children only to a person whose role is at least `needed` (a developer by
/// default), else `otherwise` (when given). The server refuses the others' changes anyway;
/// this leaves out the forms they cannot use.
#[component]
pub fn RoleGate(
    #[prop(default = domain::types::Role::Developer)] needed: domain::types::Role,
    #[prop(optional)] otherwise: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let role = role_resource();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    if role.allows(needed).await {
                        children().into_any()
                    } else if otherwise.is_empty() {
                        ().into_any()
                    } else {
                        view! { <p class="muted" data-testid="role-notice">{otherwise}</p> }.into_any()
                    }
                })
            }}
        </Suspense>
    }
}
