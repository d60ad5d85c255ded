//! HTML building blocks of the dashboard, in maud (compiled templates that escape every interpolated value):
//! the page layout, the two languages, and how numbers, money and bands read.

use maud::{html, Markup, DOCTYPE};
use wagewatch_core::regions::RegionNames;

use wagewatch_core::model::Band;
use wagewatch_service::state::{Principal, Role};

/// The page language: Chinese by default, English on request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the text of this language.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Percent-encodes a query value (for links built from typed values).
pub use wagewatch_service::query::url_encode as url;

/// The built-in division names (the page header, which no run's names reach), built once.
fn builtin_names() -> &'static RegionNames {
    static NAMES: std::sync::OnceLock<RegionNames> = std::sync::OnceLock::new();
    NAMES.get_or_init(RegionNames::builtin)
}

/// Money as Chinese readers expect it: 万元 from ten thousand yuan up, else 元 (English: yuan).
pub fn money(yuan: f64, lang: Lang) -> String {
    match lang {
        Lang::Zh if yuan.abs() >= 10_000.0 => format!("{:.1} 万元", yuan / 10_000.0),
        Lang::Zh => format!("{} 元", thousands(yuan)),
        Lang::En => format!("{} yuan", thousands(yuan)),
    }
}

/// A whole number with thousands separators.
pub fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A probability as a percentage.
pub fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

/// A table's column heading in both languages; a numeric one is right-aligned.
#[derive(Clone, Copy)]
pub struct Col {
    pub zh: &'static str,
    pub en: &'static str,
    pub numeric: bool,
}

/// A text column.
pub const fn col(zh: &'static str, en: &'static str) -> Col {
    Col { zh, en, numeric: false }
}

/// A numeric column (right-aligned).
pub const fn num(zh: &'static str, en: &'static str) -> Col {
    Col { zh, en, numeric: true }
}

/// A table's header row.
pub fn thead(lang: Lang, cols: &[Col]) -> Markup {
    html! {
        thead { tr {
            @for c in cols { th scope="col" class=[c.numeric.then_some("num")] { (lang.t(c.zh, c.en)) } }
        } }
    }
}

/// A band's name.
pub fn band_name(b: Band, lang: Lang) -> &'static str {
    match (b, lang) {
        (Band::Red, Lang::Zh) => "红色",
        (Band::Orange, Lang::Zh) => "橙色",
        (Band::Yellow, Lang::Zh) => "黄色",
        (Band::Green, Lang::Zh) => "绿色",
        (Band::Red, Lang::En) => "red",
        (Band::Orange, Lang::En) => "orange",
        (Band::Yellow, Lang::En) => "yellow",
        (Band::Green, Lang::En) => "green",
    }
}

/// A band chip: colour plus the band's name in words (never colour alone).
pub fn band_chip(b: Band, lang: Lang) -> Markup {
    html! { span class={ "band band-" (b.code()) } { (band_name(b, lang)) } }
}

/// A role's name.
pub fn role_name(r: Role, lang: Lang) -> &'static str {
    match r {
        Role::Inspector => lang.t("监察员", "inspector"),
        Role::Supervisor => lang.t("主管", "supervisor"),
        Role::Admin => lang.t("管理员", "admin"),
    }
}

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Watchlist,
    Overview,
    Plan,
    Model,
    None,
}

/// A whole page around `body`. `here` is this page's path and query, for the language switch.
pub fn layout(lang: Lang, title: &str, nav: Nav, who: Option<&Principal>, here: &str, body: Markup) -> Markup {
    let (other_code, other_label) = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    let item = |n: Nav, href: &'static str, zh: &'static str, en: &'static str| {
        html! { li { a href=(href) aria-current=[(n == nav).then_some("page")] { (lang.t(zh, en)) } } }
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · wagewatch" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a class="skip" href="#main" { (lang.t("跳到正文", "Skip to content")) }
                header class="top" {
                    span class="brand" { "wagewatch " small { (lang.t("欠薪风险预警", "wage-arrears early warning")) } }
                    @if let Some(p) = who {
                        nav aria-label=(lang.t("主导航", "Main")) {
                            ul {
                                (item(Nav::Watchlist, "/watchlist", "风险名单", "Watchlist"))
                                (item(Nav::Overview, "/overview", "地区概览", "Regions"))
                                (item(Nav::Plan, "/plan", "检查计划", "Plans"))
                                (item(Nav::Model, "/model", "模型与批次", "Model & runs"))
                            }
                        }
                        div class="who" {
                            span {
                                (p.name) " · " (role_name(p.role, lang)) " · " (lang.t("辖区", "region")) " "
                                @if p.region.digits() == 0 { (lang.t("全部地区", "all regions")) } @else {
                                    (builtin_names().prefix_label(p.region))
                                }
                            }
                            form method="post" action="/signout" { button type="submit" { (lang.t("退出", "Sign out")) } }
                        }
                    }
                    a class="lang" href={ "/lang/" (other_code) "?next=" (url(here)) } lang=(other_code) { (other_label) }
                }
                main id="main" { (body) }
                footer {
                    "wagewatch · "
                    (lang.t(
                        "概率为经校准的未来 60 天欠薪事件概率；原因是推高分数最多的因素。",
                        "Scores are calibrated probabilities of an arrears event in the next 60 days; reasons are the factors that raise a score most."
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(yuan: f64, lang: Lang, expected: &str) {
        assert_eq!(money(yuan, lang), expected);
    }

    #[test]
    fn money_reads_in_wan_yuan_and_text_is_escaped() {
        check(420_000.0, Lang::Zh, "42.0 万元");
        check(8_500.0, Lang::Zh, "8,500 元");
        check(1_234_567.0, Lang::En, "1,234,567 yuan");
        check(0.0, Lang::Zh, "0 元");
        assert_eq!(thousands(-1234.0), "-1,234");
        assert_eq!(url("a b/中"), "a%20b%2F%E4%B8%AD");
        assert_eq!(percent(0.1234), "12.3%");
        let who = Principal {
            token_id: 1,
            name: r#"<img src=x onerror=alert(1)>"#.into(),
            role: Role::Supervisor,
            region: wagewatch_core::contract::RegionPrefix::parse("32").unwrap(),
        };
        let page =
            layout(Lang::En, "<b>t</b>", Nav::None, Some(&who), r#"/x"><script>"#, html! { "<i>" }).into_string();
        assert!(
            !page.contains("<img src=x")
                && !page.contains("<script>")
                && !page.contains("<b>t")
                && !page.contains("<i>")
        );
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "{page}");
    }
}
