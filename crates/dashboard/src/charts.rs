//! Small SVG charts drawn on the server, as maud templates (every label escaped): a line of scores over
//! as-of dates, monthly wages due against paid, and band counts per district. Every chart has a title and
//! a text description for screen readers.

use maud::{html, Markup};

use super::html::{band_name, Lang};
use wagewatch_core::contract::Date;
use wagewatch_core::model::Band;

/// The fill colour of a band (the same as the CSS chips).
pub fn band_colour(b: Band) -> &'static str {
    match b {
        Band::Red => "#c62828",
        Band::Orange => "#e65100",
        Band::Yellow => "#f9a825",
        Band::Green => "#2e7d32",
    }
}

/// Distinct ids for the title and description of each chart drawn.
static CHART_IDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An SVG of `w` x `h` with a title and a description, around `body`.
fn chart(w: u32, h: u32, title: &str, desc: &str, body: Markup) -> Markup {
    let id = CHART_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    html! {
        svg class="chart" viewBox={ "0 0 " (w) " " (h) } width=(w) height=(h) role="img"
            aria-labelledby={ "t" (id) " d" (id) } xmlns="http://www.w3.org/2000/svg" {
            title id={ "t" (id) } { (title) }
            desc id={ "d" (id) } { (desc) }
            (body)
        }
    }
}

/// A horizontal grid line from `left` to `right` at height `y`, labelled at its left end.
fn grid_line(left: f64, right: f64, y: f64, label: &str) -> Markup {
    html! {
        line x1=(left) x2=(right) y1=(format!("{y:.1}")) y2=(format!("{y:.1}")) stroke="#ddd" {}
        text x=(left - 4.0) y=(format!("{:.1}", y + 4.0)) font-size="11" text-anchor="end" fill="#444" { (label) }
    }
}

/// Scores (0..1) on a time axis: one point per as-of date, oldest first, placed by date.
pub fn score_line(points: &[(Date, f64)], lang: Lang) -> Markup {
    let (w, h, left, bottom) = (520u32, 200u32, 44.0, 30.0);
    let desc: Vec<String> = points.iter().map(|(d, s)| format!("{d}: {:.1}%", s * 100.0)).collect();
    let plot_w = f64::from(w) - left - 44.0;
    let plot_h = f64::from(h) - bottom - 12.0;
    let y = |s: f64| 12.0 + plot_h * (1.0 - s.clamp(0.0, 1.0));
    let (first, last) = (points.first().map(|p| p.0), points.last().map(|p| p.0));
    let span = match (first, last) {
        (Some(a), Some(b)) => f64::from(b.days_since(a).max(1)),
        _ => 1.0,
    };
    let x = |d: Date| match first {
        Some(a) if points.len() > 1 => left + plot_w * f64::from(d.days_since(a)) / span,
        _ => left + plot_w / 2.0,
    };
    let line: Vec<String> = points.iter().map(|(d, s)| format!("{:.1},{:.1}", x(*d), y(*s))).collect();
    let body = html! {
        @for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            (grid_line(left, f64::from(w) - 16.0, y(tick), &format!("{}%", (tick * 100.0) as u32)))
        }
        polyline fill="none" stroke="#1a237e" stroke-width="2" points=(line.join(" ")) {}
        @for (d, s) in points {
            circle cx=(format!("{:.1}", x(*d))) cy=(format!("{:.1}", y(*s))) r="3.5" fill="#1a237e" {
                title { (d) ": " (format!("{:.1}%", s * 100.0)) }
            }
            text x=(format!("{:.1}", x(*d))) y=(f64::from(h) - 10.0) font-size="10" text-anchor="middle" fill="#444" { (d) }
        }
    };
    chart(w, h, lang.t("各评分日风险概率", "Score by as-of date"), &desc.join("; "), body)
}

/// Wages due against paid by month: `(month, due_yuan, paid_yuan)`.
pub fn wage_bars(months: &[(String, f64, f64)], lang: Lang) -> Markup {
    let (w, h, left, bottom) = (620u32, 220u32, 60.0, 34.0);
    let desc: Vec<String> = months.iter().map(|(m, d, p)| format!("{m}: {d:.0} / {p:.0}")).collect();
    let max = months.iter().map(|m| m.1.max(m.2)).fold(1.0, f64::max);
    let plot_w = f64::from(w) - left - 10.0;
    let plot_h = f64::from(h) - bottom - 24.0;
    let y = |v: f64| 24.0 + plot_h * (1.0 - v / max);
    let slot = plot_w / months.len().max(1) as f64;
    let bar = (slot * 0.38).max(2.0);
    let tick_label =
        |v: f64| if lang == Lang::Zh { format!("{:.0}万", v / 10_000.0) } else { format!("{:.0}k", v / 1000.0) };
    let body = html! {
        @for tick in [0.0, 0.5, 1.0] {
            (grid_line(left, f64::from(w) - 10.0, y(max * tick), &tick_label(max * tick)))
        }
        @for (i, (m, due, paid)) in months.iter().enumerate() {
            @let x0 = left + slot * i as f64 + slot * 0.1;
            rect x=(format!("{x0:.1}")) y=(format!("{:.1}", y(*due))) width=(format!("{bar:.1}"))
                height=(format!("{:.1}", 24.0 + plot_h - y(*due))) fill="#90a4ae" {
                title { (m) " " (lang.t("应发", "due")) ": " (format!("{due:.0}")) }
            }
            rect x=(format!("{:.1}", x0 + bar)) y=(format!("{:.1}", y(*paid))) width=(format!("{bar:.1}"))
                height=(format!("{:.1}", 24.0 + plot_h - y(*paid))) fill="#1565c0" {
                title { (m) " " (lang.t("实发", "paid")) ": " (format!("{paid:.0}")) }
            }
            text x=(format!("{:.1}", x0 + bar)) y=(f64::from(h) - 18.0) font-size="10" text-anchor="middle" fill="#444" {
                (m.get(2..).unwrap_or(m))
            }
        }
        rect x=(left) y="4" width="12" height="10" fill="#90a4ae" {}
        text x=(left + 16.0) y="13" font-size="11" { (lang.t("应发工资", "wages due")) }
        rect x=(left + 110.0) y="4" width="12" height="10" fill="#1565c0" {}
        text x=(left + 126.0) y="13" font-size="11" { (lang.t("截至评分日实发", "paid by the as-of date")) }
    };
    chart(w, h, lang.t("每月应发与实发工资", "Wages due and paid by month"), &desc.join("; "), body)
}

/// The non-empty segments of one stacked bar: band, start, width and count, from `left` at `scale` per
/// entity.
fn stack(counts: &[u32; 4], left: f64, scale: f64) -> Vec<(Band, f64, f64, u32)> {
    let mut x = left;
    let mut out = Vec::new();
    for (b, n) in [Band::Red, Band::Orange, Band::Yellow, Band::Green].into_iter().zip(counts) {
        let width = scale * f64::from(*n);
        if *n > 0 {
            out.push((b, x, width, *n));
        }
        x += width;
    }
    out
}

/// Counts by band per region, one stacked horizontal bar each: `(label, [red, orange, yellow, green])`.
pub fn band_bars(rows: &[(String, [u32; 4])], lang: Lang) -> Markup {
    let bar_h = 18.0;
    let (w, left) = (640u32, 70.0);
    let h = (rows.len() as f64 * (bar_h + 6.0) + 40.0) as u32;
    let desc: Vec<String> =
        rows.iter().map(|(l, c)| format!("{l}: {} / {} / {} / {}", c[0], c[1], c[2], c[3])).collect();
    let max = f64::from(rows.iter().map(|(_, c)| c.iter().sum::<u32>()).max().unwrap_or(1).max(1));
    let plot_w = f64::from(w) - left - 50.0;
    let bands = [Band::Red, Band::Orange, Band::Yellow, Band::Green];
    let body = html! {
        @for (i, b) in bands.iter().enumerate() {
            rect x=(left + i as f64 * 90.0) y="4" width="12" height="10" fill=(band_colour(*b)) {}
            text x=(left + i as f64 * 90.0 + 16.0) y="13" font-size="11" { (band_name(*b, lang)) }
        }
        @for (row, (label, counts)) in rows.iter().enumerate() {
            @let y = 26.0 + row as f64 * (bar_h + 6.0);
            @let segments = stack(counts, left, plot_w / max);
            text x=(left - 6.0) y=(format!("{:.1}", y + 13.0)) font-size="12" text-anchor="end" { (label) }
            @for (b, x, width, n) in &segments {
                rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{width:.1}")) height=(bar_h) fill=(band_colour(*b)) {
                    title { (label) " " (band_name(*b, lang)) ": " (n) }
                }
            }
            @let end = segments.last().map_or(left, |(_, x, width, _)| x + width);
            text x=(format!("{:.1}", end + 4.0)) y=(format!("{:.1}", y + 13.0)) font-size="11" { (counts.iter().sum::<u32>()) }
        }
    };
    chart(w, h, lang.t("各地区风险等级分布", "Bands by district"), &desc.join("; "), body)
}

/// Predicted against observed: one point per calibration bin `(mean probability, observed rate, entities)`,
/// beside the diagonal a calibrated list lies on; both axes 0..`top`.
pub fn calibration(bins: &[(f64, f64, usize)], title: &str, lang: Lang) -> Markup {
    let (w, h, left, bottom) = (300u32, 260u32, 44.0, 34.0);
    let top = bins.iter().map(|b| b.0.max(b.1)).fold(0.1, f64::max).min(1.0);
    let size = f64::from(h) - bottom - 12.0;
    let x = |p: f64| left + size * (p / top).clamp(0.0, 1.0);
    let y = |p: f64| 12.0 + size * (1.0 - (p / top).clamp(0.0, 1.0));
    let desc: Vec<String> =
        bins.iter().map(|(p, o, n)| format!("{:.1}% -> {:.1}% ({n})", p * 100.0, o * 100.0)).collect();
    let line: Vec<String> = bins.iter().map(|(p, o, _)| format!("{:.1},{:.1}", x(*p), y(*o))).collect();
    let body = html! {
        @for k in 0..=4 {
            @let tick = top * f64::from(k) / 4.0;
            (grid_line(left, left + size, y(tick), &format!("{:.0}%", tick * 100.0)))
        }
        line x1=(x(0.0)) y1=(format!("{:.1}", y(0.0))) x2=(format!("{:.1}", x(top))) y2=(format!("{:.1}", y(top)))
            stroke="#999" stroke-dasharray="4 3" {}
        polyline fill="none" stroke="#c62828" stroke-width="2" points=(line.join(" ")) {}
        @for (p, o, n) in bins {
            circle cx=(format!("{:.1}", x(*p))) cy=(format!("{:.1}", y(*o))) r="3.5" fill="#c62828" {
                title { (format!("{:.1}% -> {:.1}% ({n})", p * 100.0, o * 100.0)) }
            }
        }
        text x=(left + size / 2.0) y=(f64::from(h) - 8.0) font-size="11" text-anchor="middle" fill="#444" {
            (lang.t("预测概率", "predicted probability"))
        }
    };
    chart(w, h, title, &desc.join("; "), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_labels_are_escaped_in_every_chart() {
        let evil = r#"<script>alert(1)</script>"#.to_string();
        let bars = band_bars(&[(evil.clone(), [1, 2, 3, 4])], Lang::Zh).into_string();
        let wages = wage_bars(&[(evil.clone(), 10.0, 5.0)], Lang::En).into_string();
        for svg in [bars, wages] {
            assert!(!svg.contains("<script>"), "{svg}");
            assert!(svg.contains("&lt;script&gt;"), "{svg}");
        }
        // Points sit on a time axis: dates a month apart are further apart than dates a day apart.
        let d = |s: &str| Date::parse(s).unwrap();
        let line = score_line(&[(d("2026-11-01"), 0.2), (d("2026-11-30"), 0.3), (d("2026-12-01"), 0.4)], Lang::En)
            .into_string();
        let xs: Vec<f64> =
            line.split("<circle cx=\"").skip(1).map(|s| s.split('"').next().unwrap().parse().unwrap()).collect();
        assert_eq!(xs.len(), 3, "{line}");
        assert!(xs[1] - xs[0] > 10.0 * (xs[2] - xs[1]), "{xs:?}");
    }
}
