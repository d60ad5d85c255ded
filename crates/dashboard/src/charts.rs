//! Small SVG charts drawn on the server: a line of scores across runs, monthly wages due against paid,
//! and band counts per district. Every chart has a title and a text description for screen readers.

use std::fmt::Write;

use super::html::{esc, Lang};
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

fn open(out: &mut String, w: u32, h: u32, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="t{id} d{id}" xmlns="http://www.w3.org/2000/svg"><title id="t{id}">{title}</title><desc id="d{id}">{desc}</desc>"#,
        id = CHART_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        title = esc(title),
        desc = esc(desc),
    );
}

/// A horizontal grid line from `left` to `right` at height `y`, labelled at its left end.
fn grid_line(out: &mut String, left: f64, right: f64, y: f64, label: &str) {
    let _ = write!(
        out,
        r##"<line x1="{left}" x2="{right}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#444">{label}</text>"##,
        left - 4.0,
        y + 4.0,
    );
}

/// Scores (0..1) across runs, oldest first: `(label, score)`.
pub fn score_line(points: &[(String, f64)], lang: Lang) -> String {
    let (w, h, left, bottom) = (520u32, 200u32, 44.0, 30.0);
    let mut out = String::new();
    let desc: Vec<String> = points.iter().map(|(l, s)| format!("{l}: {:.1}%", s * 100.0)).collect();
    open(&mut out, w, h, lang.t("各批次风险概率", "Score across runs"), &desc.join("; "));
    let plot_w = w as f64 - left - 44.0;
    let plot_h = h as f64 - bottom - 12.0;
    let y = |s: f64| 12.0 + plot_h * (1.0 - s.clamp(0.0, 1.0));
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        grid_line(&mut out, left, w as f64 - 16.0, y(tick), &format!("{}%", (tick * 100.0) as u32));
    }
    let n = points.len().max(1);
    let x = |i: usize| if n == 1 { left + plot_w / 2.0 } else { left + plot_w * i as f64 / (n - 1) as f64 };
    let line: Vec<String> = points.iter().enumerate().map(|(i, (_, s))| format!("{:.1},{:.1}", x(i), y(*s))).collect();
    let _ = write!(out, r##"<polyline fill="none" stroke="#1a237e" stroke-width="2" points="{}"/>"##, line.join(" "));
    for (i, (label, s)) in points.iter().enumerate() {
        let _ = write!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#1a237e"><title>{}: {:.1}%</title></circle><text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#444">{}</text>"##,
            x(i),
            y(*s),
            esc(label),
            s * 100.0,
            x(i),
            h as f64 - 10.0,
            esc(label)
        );
    }
    out.push_str("</svg>");
    out
}

/// Wages due against paid by month: `(month, due_yuan, paid_yuan)`.
pub fn wage_bars(months: &[(String, f64, f64)], lang: Lang) -> String {
    let (w, h, left, bottom) = (620u32, 220u32, 60.0, 34.0);
    let mut out = String::new();
    let desc: Vec<String> = months.iter().map(|(m, d, p)| format!("{m}: {:.0} / {:.0}", d, p)).collect();
    open(&mut out, w, h, lang.t("每月应发与实发工资", "Wages due and paid by month"), &desc.join("; "));
    let max = months.iter().map(|m| m.1.max(m.2)).fold(1.0, f64::max);
    let plot_w = w as f64 - left - 10.0;
    let plot_h = h as f64 - bottom - 24.0;
    let y = |v: f64| 24.0 + plot_h * (1.0 - v / max);
    for tick in [0.0, 0.5, 1.0] {
        let v = max * tick;
        let label = if lang == Lang::Zh { format!("{:.0}万", v / 10_000.0) } else { format!("{:.0}k", v / 1000.0) };
        grid_line(&mut out, left, w as f64 - 10.0, y(v), &label);
    }
    let slot = plot_w / months.len().max(1) as f64;
    let bar = (slot * 0.38).max(2.0);
    for (i, (m, due, paid)) in months.iter().enumerate() {
        let x0 = left + slot * i as f64 + slot * 0.1;
        let _ = write!(
            out,
            r##"<rect x="{x0:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="#90a4ae"><title>{m} {}: {:.0}</title></rect><rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="#1565c0"><title>{m} {}: {:.0}</title></rect><text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#444">{}</text>"##,
            y(*due),
            24.0 + plot_h - y(*due),
            lang.t("应发", "due"),
            due,
            x0 + bar,
            y(*paid),
            24.0 + plot_h - y(*paid),
            lang.t("实发", "paid"),
            paid,
            x0 + bar,
            h as f64 - 18.0,
            esc(&m[2..])
        );
    }
    let _ = write!(
        out,
        r##"<rect x="{left}" y="4" width="12" height="10" fill="#90a4ae"/><text x="{}" y="13" font-size="11">{}</text><rect x="{}" y="4" width="12" height="10" fill="#1565c0"/><text x="{}" y="13" font-size="11">{}</text>"##,
        left + 16.0,
        lang.t("应发工资", "wages due"),
        left + 110.0,
        left + 126.0,
        lang.t("截至评分日实发", "paid by the as-of date")
    );
    out.push_str("</svg>");
    out
}

/// Counts by band per region, one stacked horizontal bar each: `(label, [red, orange, yellow, green])`.
pub fn band_bars(rows: &[(String, [u32; 4])], lang: Lang) -> String {
    let bar_h = 18.0;
    let (w, left) = (640u32, 70.0);
    let h = (rows.len() as f64 * (bar_h + 6.0) + 40.0) as u32;
    let mut out = String::new();
    let desc: Vec<String> =
        rows.iter().map(|(l, c)| format!("{l}: {} / {} / {} / {}", c[0], c[1], c[2], c[3])).collect();
    open(&mut out, w, h, lang.t("各地区风险等级分布", "Bands by district"), &desc.join("; "));
    let max = rows.iter().map(|(_, c)| c.iter().sum::<u32>()).max().unwrap_or(1).max(1) as f64;
    let plot_w = w as f64 - left - 50.0;
    let bands = [Band::Red, Band::Orange, Band::Yellow, Band::Green];
    for (i, b) in bands.iter().enumerate() {
        let _ = write!(
            out,
            r##"<rect x="{}" y="4" width="12" height="10" fill="{}"/><text x="{}" y="13" font-size="11">{}</text>"##,
            left + i as f64 * 90.0,
            band_colour(*b),
            left + i as f64 * 90.0 + 16.0,
            super::html::band_name(*b, lang)
        );
    }
    for (row, (label, counts)) in rows.iter().enumerate() {
        let y = 26.0 + row as f64 * (bar_h + 6.0);
        let _ = write!(
            out,
            r##"<text x="{}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"##,
            left - 6.0,
            y + 13.0,
            esc(label)
        );
        let mut x = left;
        for (b, n) in bands.iter().zip(counts) {
            let width = plot_w * *n as f64 / max;
            if *n > 0 {
                let _ = write!(
                    out,
                    r##"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{bar_h}" fill="{}"><title>{} {}: {n}</title></rect>"##,
                    band_colour(*b),
                    esc(label),
                    super::html::band_name(*b, lang)
                );
            }
            x += width;
        }
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            x + 4.0,
            y + 13.0,
            counts.iter().sum::<u32>()
        );
    }
    out.push_str("</svg>");
    out
}
