//! Minimal SVG line charts for reports and the dashboard: no scripts, no external assets.

/// One line of a chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub points: Vec<(f64, f64)>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A line chart with axes from (0, 0) to the data's maxima (or the given limits).
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
    x_max: Option<f64>,
    y_max: Option<f64>,
    diagonal: bool,
) -> String {
    let (w, h, left, bottom, top, right) = (640.0, 400.0, 60.0, 50.0, 40.0, 150.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let xm =
        x_max.unwrap_or_else(|| series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(0.0, f64::max)).max(1e-9);
    let ym =
        y_max.unwrap_or_else(|| series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max)).max(1e-9);
    let sx = |x: f64| left + pw * x / xm;
    let sy = |y: f64| top + ph * (1.0 - y / ym);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"{}\">\n",
        escape(title)
    );
    s.push_str(&format!("<title>{}</title>\n", escape(title)));
    s.push_str(&format!(
        "<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        left,
        escape(title)
    ));
    s.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#333\"/>\n",
        top + ph, left + pw, top + ph, top + ph
    ));
    for i in 0..=4 {
        let fx = xm * f64::from(i) / 4.0;
        let fy = ym * f64::from(i) / 4.0;
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            sx(fx),
            top + ph + 16.0,
            trim(fx)
        ));
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left - 6.0,
            sy(fy) + 4.0,
            trim(fy)
        ));
        s.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n",
            sy(fy),
            left + pw,
            sy(fy)
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
        left + pw / 2.0,
        h - 10.0,
        escape(x_label)
    ));
    s.push_str(&format!(
        "<text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">{}</text>\n",
        top + ph / 2.0,
        top + ph / 2.0,
        escape(y_label)
    ));
    if diagonal {
        let m = xm.min(ym);
        s.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n",
            sx(0.0),
            sy(0.0),
            sx(m),
            sy(m)
        ));
    }
    for (k, se) in series.iter().enumerate() {
        let pts: Vec<String> = se.points.iter().map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y))).collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
            se.colour,
            pts.join(" ")
        ));
        for (x, y) in &se.points {
            s.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{}\"/>\n",
                sx(*x),
                sy(*y),
                se.colour
            ));
        }
        let ly = top + 16.0 * k as f64 + 8.0;
        s.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{}\" stroke-width=\"3\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            left + pw + 10.0,
            left + pw + 30.0,
            se.colour,
            left + pw + 35.0,
            ly + 4.0,
            escape(se.name)
        ));
    }
    s.push_str("</svg>\n");
    s
}

fn trim(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
