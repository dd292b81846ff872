//! Your account: change the password, see where you are logged in and log out the others;
//! and the page a password-reset link opens.
use super::{field_error, Field, Topbar};
use crate::account::{account_page, reset_link_works, ChangePassword, EndOtherSessions, ResetPassword};
use crate::error::PortalError;
use crate::paths::{self, Area};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A new password, typed twice (fields `password` and `confirm`), with each one's problem.
#[component]
fn NewPasswordFields<T>(
    result: MappedSignal<Option<Result<T, PortalError>>>,
    hint: &'static str,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    view! {
        <Field label="New password" name="password" kind="password" autocomplete="new-password" required=true
            hint=hint error=Signal::derive(field_error(result, "password"))/>
        <Field label="New password again" name="confirm" kind="password" autocomplete="new-password" required=true
            error=Signal::derive(field_error(result, "confirm"))/>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let data = Resource::new(
        move || (change.version().get(), end_others.version().get()),
        |_| account_page(),
    );
    let changed = change.value();
    let general = move || changed.get().and_then(|r| r.err()).and_then(|e| e.general());
    let done = move || {
        changed.get().and_then(|r| r.ok()).map(|ended| match ended {
            0 => "Your password is changed.".to_string(),
            1 => "Your password is changed, and your other session was logged out.".to_string(),
            n => format!("Your password is changed, and your {n} other sessions were logged out."),
        })
    };
    let ended = move || {
        end_others.value().get().and_then(|r| r.ok()).map(|n| match n {
            1 => "1 other session was logged out.".to_string(),
            n => format!("{n} other sessions were logged out."),
        })
    };
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Your account"</h1>
            <Suspense fallback=|| view! { <super::PageSkeleton title="Your account"/> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => {
                            let others = d.sessions.iter().filter(|s| !s.current).count();
                            view! {
                                <p class="lead">{d.email.clone()} " · " {d.org_name.clone()}</p>
                                <section class="card" aria-labelledby="sessions-title">
                                    <h2 id="sessions-title">"Where you are logged in"</h2>
                                    <table class="list" aria-label="Sessions">
                                        <thead><tr><th>"Browser"</th><th>"Address"</th><th>"Logged in"</th><th>"Last active"</th><th>"Ends"</th></tr></thead>
                                        <tbody>
                                            {d.sessions.into_iter().map(|s| view! {
                                                <tr class:current=s.current>
                                                    <td>{s.browser}{s.current.then(|| view! { " " <span class="badge ok">"this browser"</span> })}</td>
                                                    <td>{s.ip.unwrap_or_else(|| "unknown".into())}</td>
                                                    <td>{when(s.created_at)}</td>
                                                    <td>{when(s.last_seen_at)}</td>
                                                    <td>{when(s.expires_at)}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    {(others > 0).then(|| view! {
                                        <ActionForm action=end_others attr:class="inline-form">
                                            <button type="submit" class="button secondary">"Log out other sessions"</button>
                                        </ActionForm>
                                    })}
                                </section>
                            }.into_any()
                        }
                        Err(e) => super::load_error(e, Area::Developer),
                    }
                })}
            </Suspense>
            <p role="status">{ended}</p>
            <section class="card">
                <h2>"Change password"</h2>
                <p class="hint">"Your other sessions are logged out when it changes."</p>
                <ActionForm action=change attr:class="form" attr:novalidate=true>
                    <Field label="Current password" name="current" kind="password" autocomplete="current-password" required=true
                        error=Signal::derive(field_error(changed, "current"))/>
                    <NewPasswordFields result=changed hint="At least 10 characters, not easy to guess."/>
                    <p class="error" role="alert">{general}</p>
                    <p class="success" role="status">{done}</p>
                    <button type="submit" class="button" disabled=move || change.pending().get()>"Change password"</button>
                </ActionForm>
            </section>
        </main>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let result = action.value();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let works = Resource::new(token, reset_link_works);
    let general = move || result.get().and_then(|r| r.err()).and_then(|e| e.general());
    view! {
        <Topbar/>
        <main class="container narrow">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=|| view! { <super::PageSkeleton/> }>
                {move || Suspend::new(async move {
                    match works.await {
                        Ok(true) => view! {
                            <ActionForm action=action attr:class="form" attr:novalidate=true>
                                <input type="hidden" name="token" value=token/>
                                <NewPasswordFields result=result
                                    hint="At least 10 characters, not easy to guess. Every session of your account is logged out."/>
                                <p class="error" role="alert">{general}</p>
                                <button type="submit" class="button" disabled=move || action.pending().get()>"Set password and log in"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(false) => view! {
                            <p class="error" role="alert">
                                "This reset link has expired or was already used. Ask your Hookline operator for a new one."
                            </p>
                            <p><a href=paths::LOGIN>"Back to log in"</a></p>
                        }.into_any(),
                        Err(e) => super::load_error(e, Area::Developer),
                    }
                })}
            </Suspense>
        </main>
    }
}
