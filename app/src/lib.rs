//! The Hookline portal: routes, pages and (later) server functions. Rendered on the server
//! and hydrated in the browser.
#![forbid(unsafe_code)]
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

pub mod account;
pub mod api;
pub mod audit;
pub mod catalog;
pub mod charts;
pub mod endpoint;
pub mod error;
pub mod inbox;
pub mod log;
pub mod members;
pub mod notifications;
pub mod onboarding;
pub mod overview;
pub mod pages;
pub mod roles;
pub mod timeline;

use leptos_router::SsrMode;
use pages::{
    account::AccountPage, account::ResetPasswordPage, app_detail::AppDetailPage, apps::AppsPage,
    audit::AuditLogPage, auth::LoginPage, auth::SignupPage, endpoint::EndpointPage,
    event_types::EventTypesPage, home::HomePage, home::NotFound, inbox::InboxPage, inbox::InboxesPage,
    keys::ApiKeysPage, members::JoinPage, members::MembersPageView, message::MessagePage,
    messages::MessagesPage, notifications::NotificationsPage, overview::OverviewPage, welcome::WelcomePage,
};
use paths::Area;

/// Route paths, shared by the router, links, the server's guards and tests.
pub mod paths {
    pub const HOME: &str = "/";
    pub const DOCS: &str = "/docs";
    pub const SIGNUP: &str = "/signup";
    pub const LOGIN: &str = "/login";
    pub const APPS: &str = "/apps";
    pub const API_KEYS: &str = "/api-keys";
    pub const EVENT_TYPES: &str = "/event-types";
    /// The organisation at a glance: deliveries, failures, what needs attention.
    pub const OVERVIEW: &str = "/overview";
    /// The first-run path, where signing up lands.
    pub const WELCOME: &str = "/welcome";
    pub const INBOXES: &str = "/inboxes";
    /// Where the organisation is told about its endpoints and deliveries.
    pub const NOTIFICATIONS: &str = "/notifications";
    /// Your own account: password and sessions.
    pub const ACCOUNT: &str = "/account";
    /// Who changed what, and when.
    pub const AUDIT_LOG: &str = "/audit-log";
    /// The organisation's members, their roles and invitations.
    pub const MEMBERS: &str = "/members";
    /// Where an invitation link leads (`?token=…`).
    pub const JOIN: &str = "/join";
    /// Where an operator's password-reset link leads (`?token=…`).
    pub const RESET_PASSWORD: &str = "/reset-password";

    /// One test inbox's page.
    pub fn inbox(id: &str) -> String {
        format!("{INBOXES}/{id}")
    }

    /// A tab of an application's page.
    pub fn app_tab(id: &str, tab: &str) -> String {
        format!("{}?tab={tab}", Area::Developer.app(id))
    }

    /// Where consumer-portal pages live (`/portal/{token}` itself opens a link).
    pub const CONSUMER_APPS: &str = "/portal/app";

    /// The delivery timeline of one message.
    pub fn message(app: &str, msg: &str) -> String {
        Area::Developer.message(app, msg)
    }

    /// The page of one application.
    pub fn app(id: &str) -> String {
        Area::Developer.app(id)
    }

    /// Which portal a page belongs to: the developer's, behind a login, or the consumer portal
    /// opened by an app-portal-access link, which sees one application.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Area {
        #[default]
        Developer,
        Consumer,
    }

    impl Area {
        fn base(self) -> &'static str {
            match self {
                Area::Developer => APPS,
                Area::Consumer => CONSUMER_APPS,
            }
        }
        pub fn app(self, id: &str) -> String {
            format!("{}/{id}", self.base())
        }
        pub fn message(self, app: &str, msg: &str) -> String {
            format!("{}/{app}/msg/{msg}", self.base())
        }
        pub fn endpoint(self, app: &str, ep: &str) -> String {
            format!("{}/{app}/endpoint/{ep}", self.base())
        }
        pub fn messages(self, app: &str) -> String {
            format!("{}/{app}/messages", self.base())
        }
    }
    /// Pages a stranger is redirected away from (to the login page, and back after it).
    pub const PROTECTED: [&str; 10] = [
        ACCOUNT,
        AUDIT_LOG,
        MEMBERS,
        APPS,
        API_KEYS,
        EVENT_TYPES,
        OVERVIEW,
        WELCOME,
        INBOXES,
        NOTIFICATIONS,
    ];
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
    provide_context(pages::FormNonce(Resource::new(|| (), |_| api::form_nonce())));
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
                    <Route path=(StaticSegment("apps"), ParamSegment("id")) view=|| view! { <AppDetailPage area=Area::Developer/> } ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("apps"), ParamSegment("id"), StaticSegment("msg"), ParamSegment("msg"))
                        view=|| view! { <MessagePage area=Area::Developer/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("apps"), ParamSegment("id"), StaticSegment("endpoint"), ParamSegment("ep"))
                        view=|| view! { <EndpointPage area=Area::Developer/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("apps"), ParamSegment("id"), StaticSegment("messages"))
                        view=|| view! { <MessagesPage area=Area::Developer/> }
                        ssr=SsrMode::Async
                    />
                    // the consumer portal: the same pages, scoped to the link's application
                    <Route
                        path=(StaticSegment("portal"), StaticSegment("app"), ParamSegment("id"))
                        view=|| view! { <AppDetailPage area=Area::Consumer/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("portal"), StaticSegment("app"), ParamSegment("id"), StaticSegment("msg"), ParamSegment("msg"))
                        view=|| view! { <MessagePage area=Area::Consumer/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("portal"), StaticSegment("app"), ParamSegment("id"), StaticSegment("endpoint"), ParamSegment("ep"))
                        view=|| view! { <EndpointPage area=Area::Consumer/> }
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("portal"), StaticSegment("app"), ParamSegment("id"), StaticSegment("messages"))
                        view=|| view! { <MessagesPage area=Area::Consumer/> }
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("overview") view=OverviewPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("welcome") view=WelcomePage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("inboxes") view=InboxesPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("inboxes"), ParamSegment("id")) view=InboxPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("notifications") view=NotificationsPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("api-keys") view=ApiKeysPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("event-types") view=EventTypesPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("audit-log") view=AuditLogPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("members") view=MembersPageView ssr=SsrMode::Async/>
                    <Route path=StaticSegment("join") view=JoinPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                </Routes>
            </Router>
        </div>
    }
}
