//! The Hookline portal: routes, pages and (later) server functions. Rendered on the server
//! and hydrated in the browser.
#![forbid(unsafe_code)]
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

pub mod api;
pub mod catalog;
pub mod error;
pub mod pages;
pub mod timeline;

use leptos_router::SsrMode;
use pages::{
    app_detail::AppDetailPage, apps::AppsPage, auth::LoginPage, auth::SignupPage,
    event_types::EventTypesPage, home::HomePage, home::NotFound, keys::ApiKeysPage, message::MessagePage,
};

/// Route paths, shared by the router, links, the server's guards and tests.
pub mod paths {
    pub const HOME: &str = "/";
    pub const DOCS: &str = "/docs";
    pub const SIGNUP: &str = "/signup";
    pub const LOGIN: &str = "/login";
    pub const APPS: &str = "/apps";
    pub const API_KEYS: &str = "/api-keys";
    pub const EVENT_TYPES: &str = "/event-types";

    /// The delivery timeline of one message.
    pub fn message(app: &str, msg: &str) -> String {
        format!("{APPS}/{app}/msg/{msg}")
    }

    /// The page of one application.
    pub fn app(id: &str) -> String {
        format!("{APPS}/{id}")
    }
    /// Pages a stranger is redirected away from (to the login page, and back after it).
    pub const PROTECTED: [&str; 3] = [APPS, API_KEYS, EVENT_TYPES];
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.ico"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Set only in the browser, once hydration has run: tests wait for it before clicking.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <Stylesheet id="leptos" href="/pkg/hookline.css"/>
        <Title text="Hookline"/>
        <div id="app-root" data-hydrated=move || hydrated.get().to_string()>
            <Router>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=StaticSegment("") view=HomePage/>
                    <Route path=StaticSegment("signup") view=SignupPage/>
                    <Route path=StaticSegment("login") view=LoginPage/>
                    <Route path=StaticSegment("apps") view=AppsPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("apps"), ParamSegment("id")) view=AppDetailPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("apps"), ParamSegment("id"), StaticSegment("msg"), ParamSegment("msg"))
                        view=MessagePage
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("api-keys") view=ApiKeysPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("event-types") view=EventTypesPage ssr=SsrMode::Async/>
                </Routes>
            </Router>
        </div>
    }
}
