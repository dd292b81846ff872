//! Success-rate and latency charts of an endpoint, drawn as inline SVG while the page renders
//! on the server: no chart library, nothing fetched from a CDN.
use domain::types::{ChartBucket, ChartRange};
use leptos::prelude::*;

const W: f64 = 600.0;
const H: f64 = 140.0;
/// Room on the left for the axis labels.
const LEFT: f64 = 60.0;

/// One bar of the success-rate chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub class: &'static str,
    pub title: String,
}

fn bucket_label(b: &ChartBucket, range: ChartRange) -> String {
    match range {
        ChartRange::Week => b.start.format("%a %d %H:%M").to_string(),
        _ => b.start.format("%H:%M").to_string(),
    }
}

/// Bars of the success rate per bucket: full height is 100%; buckets without attempts get
/// no bar. Colour says how healthy the bucket was.
pub fn success_bars(buckets: &[ChartBucket], range: ChartRange) -> Vec<Bar> {
    let slot = (W - LEFT) / buckets.len().max(1) as f64;
    buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.attempts > 0)
        .map(|(i, b)| {
            let rate = b.succeeded as f64 / b.attempts as f64;
            let height = (rate * H).max(2.0);
            Bar {
                x: LEFT + i as f64 * slot + slot * 0.15,
                y: H - height,
                width: slot * 0.7,
                height,
                class: if rate >= 0.95 {
                    "bar ok"
                } else if rate >= 0.5 {
                    "bar warn"
                } else {
                    "bar fail"
                },
                title: format!(
                    "{}: {} of {} attempts succeeded ({:.0}%)",
                    bucket_label(b, range),
                    b.succeeded,
                    b.attempts,
                    rate * 100.0
                ),
            }
        })
        .collect()
}

/// A round upper bound for the latency axis, at least 10 ms.
pub fn latency_scale(buckets: &[ChartBucket]) -> f64 {
    let max = buckets
        .iter()
        .filter_map(|b| b.p95_ms.or(b.p50_ms))
        .fold(0.0_f64, f64::max);
    let mut magnitude = 10.0;
    loop {
        for step in [1.0, 2.0, 5.0] {
            if step * magnitude >= max {
                return step * magnitude;
            }
        }
        magnitude *= 10.0;
    }
}

/// SVG polyline points of one latency series; buckets without attempts are skipped.
pub fn latency_points(buckets: &[ChartBucket], scale: f64, pick: fn(&ChartBucket) -> Option<f64>) -> String {
    let slot = (W - LEFT) / buckets.len().max(1) as f64;
    buckets
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            pick(b).map(|ms| {
                let x = LEFT + i as f64 * slot + slot / 2.0;
                let y = H - (ms / scale).min(1.0) * H;
                format!("{x:.1},{y:.1}")
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn axis_labels(buckets: &[ChartBucket], range: ChartRange) -> impl IntoView {
    let slot = (W - LEFT) / buckets.len().max(1) as f64;
    let picks = [0, buckets.len() / 2, buckets.len().saturating_sub(1)];
    let last = buckets.len().saturating_sub(1);
    picks
        .into_iter()
        .filter(|&i| i < buckets.len())
        .map(|i| {
            // the outer labels align with the chart's edges so that none is cut off
            let (x, anchor) = match i {
                0 => (LEFT, "start"),
                i if i == last => (W, "end"),
                i => (LEFT + i as f64 * slot + slot / 2.0, "middle"),
            };
            view! { <text x=format!("{x:.1}") y=H + 18.0 class="axis" text-anchor=anchor>{bucket_label(&buckets[i], range)}</text> }
        })
        .collect_view()
}

/// A dot on every point of a series, so that a lone bucket still shows.
fn dots(points: &str, class: &'static str) -> impl IntoView {
    points
        .split(' ')
        .filter_map(|p| p.split_once(','))
        .map(|(x, y)| view! { <circle cx=x.to_string() cy=y.to_string() r="3.5" class=class/> })
        .collect_view()
}

/// Success rate per bucket.
#[component]
pub fn SuccessChart(buckets: Vec<ChartBucket>, range: ChartRange) -> impl IntoView {
    let total: i64 = buckets.iter().map(|b| b.attempts).sum();
    let ok: i64 = buckets.iter().map(|b| b.succeeded).sum();
    let summary = if total == 0 {
        format!("{}: no attempts.", range.label())
    } else {
        format!(
            "{}: {ok} of {total} attempts succeeded ({:.1}%).",
            range.label(),
            ok as f64 * 100.0 / total as f64
        )
    };
    let bars = success_bars(&buckets, range);
    view! {
        <figure class="chart">
            <figcaption>"Success rate"</figcaption>
            <svg viewBox=format!("0 0 {W} {}", H + 24.0) role="img" aria-label=summary.clone() data-testid="success-chart">
                <line x1=LEFT y1=0 x2=W y2=0 class="grid"/>
                <line x1=LEFT y1=H / 2.0 x2=W y2=H / 2.0 class="grid"/>
                <line x1=LEFT y1=H x2=W y2=H class="baseline"/>
                <text x=LEFT - 6.0 y=10 class="axis" text-anchor="end">"100%"</text>
                <text x=LEFT - 6.0 y=H / 2.0 + 4.0 class="axis" text-anchor="end">"50%"</text>
                <text x=LEFT - 6.0 y=H class="axis" text-anchor="end">"0%"</text>
                {bars.into_iter().map(|b| view! {
                    <rect x=format!("{:.1}", b.x) y=format!("{:.1}", b.y) width=format!("{:.1}", b.width)
                        height=format!("{:.1}", b.height) class=b.class>
                        <title>{b.title}</title>
                    </rect>
                }).collect_view()}
                {axis_labels(&buckets, range)}
            </svg>
            <p class="muted">{summary}</p>
        </figure>
    }
}

/// Median and 95th-percentile response time per bucket.
#[component]
pub fn LatencyChart(buckets: Vec<ChartBucket>, range: ChartRange) -> impl IntoView {
    let scale = latency_scale(&buckets);
    let p50 = latency_points(&buckets, scale, |b| b.p50_ms);
    let p95 = latency_points(&buckets, scale, |b| b.p95_ms);
    let worst = buckets
        .iter()
        .filter_map(|b| b.p95_ms)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let summary = match worst {
        Some(w) => format!(
            "{}: the slowest bucket's 95th percentile was {w:.0} ms.",
            range.label()
        ),
        None => format!("{}: no attempts.", range.label()),
    };
    view! {
        <figure class="chart">
            <figcaption>"Response time " <span class="key p50">"median"</span> " " <span class="key p95">"95th percentile"</span></figcaption>
            <svg viewBox=format!("0 0 {W} {}", H + 24.0) role="img" aria-label=summary.clone() data-testid="latency-chart">
                <line x1=LEFT y1=0 x2=W y2=0 class="grid"/>
                <line x1=LEFT y1=H / 2.0 x2=W y2=H / 2.0 class="grid"/>
                <line x1=LEFT y1=H x2=W y2=H class="baseline"/>
                <text x=LEFT - 6.0 y=10 class="axis" text-anchor="end">{format!("{scale:.0} ms")}</text>
                <text x=LEFT - 6.0 y=H / 2.0 + 4.0 class="axis" text-anchor="end">{format!("{:.0}", scale / 2.0)}</text>
                <text x=LEFT - 6.0 y=H class="axis" text-anchor="end">"0"</text>
                <polyline points=p95.clone() class="line p95"/>
                <polyline points=p50.clone() class="line p50"/>
                {dots(&p95, "dot p95")}
                {dots(&p50, "dot p50")}
                {axis_labels(&buckets, range)}
            </svg>
            <p class="muted">{summary}</p>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn bucket(min: u32, attempts: i64, succeeded: i64, p50: Option<f64>, p95: Option<f64>) -> ChartBucket {
        ChartBucket {
            start: Utc.with_ymd_and_hms(2026, 11, 28, 10, min, 0).unwrap(),
            attempts,
            succeeded,
            p50_ms: p50,
            p95_ms: p95,
        }
    }

    #[test]
    fn bars_are_as_tall_as_the_success_rate_and_empty_buckets_have_none() {
        let b = vec![
            bucket(0, 4, 4, Some(10.0), Some(20.0)),
            bucket(5, 0, 0, None, None),
            bucket(10, 4, 1, Some(10.0), Some(20.0)),
        ];
        let bars = success_bars(&b, ChartRange::Hour);
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].height, H);
        assert_eq!(bars[0].class, "bar ok");
        assert_eq!(bars[1].height, H / 4.0);
        assert_eq!(bars[1].class, "bar fail");
        assert!(bars[1].x > bars[0].x);
        assert_eq!(bars[1].title, "10:10: 1 of 4 attempts succeeded (25%)");
    }

    #[test]
    fn the_latency_axis_rounds_up_to_1_2_5_steps() {
        let at = |ms| vec![bucket(0, 1, 1, Some(ms / 2.0), Some(ms))];
        assert_eq!(latency_scale(&at(3.0)), 10.0);
        assert_eq!(latency_scale(&at(15.0)), 20.0);
        assert_eq!(latency_scale(&at(42.0)), 50.0);
        assert_eq!(latency_scale(&at(120.0)), 200.0);
        assert_eq!(latency_scale(&at(4_800.0)), 5_000.0);
        assert_eq!(latency_scale(&[]), 10.0);
    }

    #[test]
    fn latency_points_skip_empty_buckets() {
        let b = vec![
            bucket(0, 1, 1, Some(50.0), Some(100.0)),
            bucket(5, 0, 0, None, None),
        ];
        let pts = latency_points(&b, 100.0, |b| b.p95_ms);
        assert_eq!(pts.split(' ').count(), 1);
        assert!(pts.ends_with(",0.0"), "{pts}");
    }
}
