//! The organisation's overview: the last 24 hours' deliveries and success rate, and each
//! thing that needs attention, linked to where it is fixed.
use super::{PageSkeleton, Topbar};
use crate::overview::{org_overview, EndpointLine, OverviewData};
use crate::paths::{self, Area};
use leptos::prelude::*;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| org_overview());
    view! {
        <Topbar/>
        <main class="container">
            <h1>"Overview"</h1>
            <Suspense fallback=|| view! { <PageSkeleton title="Last 24 hours"/> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! { <Summary o=o/> }.into_any(),
                        Err(e) => super::load_error(e, Area::Developer),
                    }
                })}
            </Suspense>
        </main>
    }
}

fn endpoint_link(l: &EndpointLine) -> impl IntoView {
    view! {
        <a href=Area::Developer.endpoint(&l.app_id, &l.endpoint_id)><code>{l.url.clone()}</code></a>
        <span class="muted">{format!(" ({})", l.app_name)}</span>
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "–".into())
}

#[component]
fn Summary(o: OverviewData) -> impl IntoView {
    if !o.has_apps {
        return view! {
            <section class="card">
                <h2>"Nothing sent yet"</h2>
                <p>"Your organisation has no application yet. "
                    <a class="button" href=paths::WELCOME>"Send your first webhook"</a></p>
                <p class="muted">"It takes four steps and no server of your own: a test inbox shows what arrives."</p>
            </section>
        }
        .into_any();
    }
    let total = o.succeeded + o.pending + o.failed;
    let rate = o
        .success_rate()
        .map(|r| format!("{r:.1}%"))
        .unwrap_or_else(|| "–".into());
    view! {
        <section class="stats" aria-label="Last 24 hours">
            <div class="stat"><span class="stat-value" data-testid="deliveries-24h">{total}</span><span class="stat-label">"deliveries in the last 24 hours"</span></div>
            <div class="stat"><span class="stat-value" data-testid="success-rate">{rate}</span><span class="stat-label">"succeeded (of those settled)"</span></div>
            <div class="stat"><span class="stat-value">{o.pending}</span><span class="stat-label">"still pending or retrying"</span></div>
            <div class="stat"><span class="stat-value" data-testid="dead-letters">{o.dead_letters}</span><span class="stat-label">"dead letters (failed for good)"</span></div>
        </section>

        <section class="card">
            <h2>"Needs attention"</h2>
            {if o.attention.is_empty() {
                view! { <p class="ok">"Every endpoint is delivering."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Endpoints that need attention">
                        <thead><tr><th>"Endpoint"</th><th>"Problem"</th></tr></thead>
                        <tbody>
                            {o.attention.iter().map(|l| view! {
                                <tr><td>{endpoint_link(l)}</td><td>{l.problem.clone()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="hint">"Open an endpoint to see its attempts, fix it, enable it, or recover what failed."</p>
                }.into_any()
            }}
        </section>

        <section class="card">
            <h2>"Dead letters"</h2>
            {if o.with_dead_letters.is_empty() {
                view! { <p class="ok">"None: nothing has failed for good."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Endpoints with dead letters">
                        <thead><tr><th>"Endpoint"</th><th>"Failed deliveries"</th></tr></thead>
                        <tbody>
                            {o.with_dead_letters.iter().map(|l| view! {
                                <tr><td>{endpoint_link(l)}</td><td>{l.dead_letters}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="hint">"On an endpoint's page, " <em>"Recover failed since…"</em> " sends them again."</p>
                }.into_any()
            }}
        </section>

        <section class="card">
            <h2>"Slowest endpoints"</h2>
            {if o.slowest.is_empty() {
                view! { <p class="muted">"No attempts in the last 24 hours."</p> }.into_any()
            } else {
                view! {
                    <table class="list" aria-label="Slowest endpoints">
                        <thead><tr><th>"Endpoint"</th><th>"95th percentile"</th><th>"Mean"</th><th>"Attempts (24 h)"</th></tr></thead>
                        <tbody>
                            {o.slowest.iter().map(|l| view! {
                                <tr><td>{endpoint_link(l)}</td><td>{ms(l.p95_ms)}</td><td>{ms(l.mean_ms)}</td><td>{l.attempts}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}
