//! `report.html`: one self-contained page per run folder — the scenario's key settings, the
//! summary figures, tables and every chart (inline SVG). It fetches nothing: no external CSS,
//! JavaScript, fonts or images; links point only to the files beside it.
//!
//! The page holds no wall-clock figure, so identical runs give byte-identical pages.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::engine::{SimDuration, format_duration};
use crate::scenario::{Scenario, Shown};

use super::figures::{Figures, Ms, RunData};
use super::findings::Finding;
use super::summary::Summary;

/// The file name of the page in the run folder.
pub const REPORT_FILE: &str = "report.html";

/// Writes `report.html` into the run folder `dir`, whose charts are `figs`.
pub fn write_report(
    dir: &Path,
    summary: &Summary,
    scn: &Scenario,
    figs: &Figures,
    findings: &[Finding],
) -> Result<()> {
    let mut charts = Vec::with_capacity(figs.figures.len());
    for f in &figs.figures {
        let path = dir.join(format!("{}.svg", f.stem));
        let svg = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        charts.push(inline_svg(&svg, &f.title));
    }
    let html = render(summary, scn, figs, &charts, findings);
    let path = dir.join(REPORT_FILE);
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `<svg>` element of a chart file, ready to sit inside the page: without any XML prolog,
/// labelled for screen readers, scaled by the page's CSS.
fn inline_svg(svg: &str, title: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let body = svg[start..].trim_end();
    let label = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\"",
        escape(title)
    );
    match body.strip_prefix("<svg") {
        Some(rest) => format!("{label}{rest}"),
        None => body.to_string(),
    }
}

const CSS: &str = r#"
:root { --fg: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa; --accent: #1f77b4; --warn: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 8px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h1 .seed { color: var(--muted); font-weight: normal; font-size: 20px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 8px; }
p { margin: 6px 0; }
.muted, .meta { color: var(--muted); }
.meta { font-size: 14px; }
nav { font-size: 14px; margin: 10px 0 0; }
nav a { margin-right: 14px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  background: #e4e7eb; padding: 1px 4px; border-radius: 3px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 21px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.card .unit { font-size: 13px; font-weight: normal; color: var(--muted); }
.card.warn .value { color: var(--warn); }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 4px 24px; align-items: start; }
.tables.api { grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); }
.tables.costs { grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); }
@media (max-width: 900px) { .tables.api, .tables.costs { grid-template-columns: minmax(0, 1fr); } }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); margin: 4px 0 10px;
  font-size: 14px; width: 100%; }
th, td { padding: 5px 10px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #e9eef4; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td.key { white-space: nowrap; }
.wrap { overflow-x: auto; }
tr.total td { font-weight: 600; border-top: 2px solid var(--line); }
tr.hit td { color: var(--warn); }
table.kv th { width: 34%; background: #f0f4f8; }
table.files td:first-child { width: 32%; }
figure { margin: 18px 0 26px; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; }
figure svg.chart { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 8px; }
ul.findings { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--warn);
  border-radius: 6px; margin: 8px 0; padding: 10px 14px 10px 34px; font-size: 16px; }
ul.findings li { margin: 3px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); padding-top: 10px; }
"#;

/// The page.
fn render(
    summary: &Summary,
    scn: &Scenario,
    figs: &Figures,
    charts: &[String],
    findings: &[Finding],
) -> String {
    let shown = scn.shown();
    let d = &figs.data;
    let cur = summary.currency.as_str();
    let mut h = String::new();
    let title = format!("{} (seed {})", summary.scenario, summary.seed);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>fleetsim report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(&title)
    );

    // Header.
    let _ = write!(
        h,
        "<header>\n<h1>{} <span class=\"seed\">seed {}</span></h1>\n",
        escape(&summary.scenario),
        summary.seed
    );
    if let Some(desc) = &shown.description {
        let _ = writeln!(h, "<p>{}</p>", escape(desc));
    }
    let _ = writeln!(
        h,
        "<p class=\"meta\">fleetsim {} run of <code>{}</code>: {} simulated, {} zone(s), {} \
         instance type(s), {} workload(s). Money in {}.</p>",
        env!("CARGO_PKG_VERSION"),
        escape(&scn.origin),
        escape(&fmt_secs_duration(summary.duration_s)),
        scn.catalog.zones.len(),
        scn.catalog.types.len(),
        scn.workloads.len(),
        escape(cur)
    );
    h.push_str(
        "<nav><a href=\"#findings\">Findings</a><a href=\"#summary\">Summary</a><a href=\"#scenario\">Scenario</a>\
         <a href=\"#costs\">Costs</a><a href=\"#api\">API</a><a href=\"#quotas\">Quotas</a>\
         <a href=\"#charts\">Charts</a><a href=\"#files\">Files</a></nav>\n</header>\n",
    );

    findings_section(&mut h, findings);
    summary_section(&mut h, summary);
    scenario_section(&mut h, summary, scn, &shown);
    cost_section(&mut h, summary, d, scn);
    api_section(&mut h, summary, d);
    quota_section(&mut h, d, scn);

    // Charts.
    h.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    if d.costs.is_none() {
        h.push_str(
            "<p class=\"muted\">No <code>costs.csv</code> in this run folder: the cumulative cost \
             chart is not drawn.</p>\n",
        );
    }
    for (f, svg) in figs.figures.iter().zip(charts) {
        let _ = write!(
            h,
            "<figure id=\"{stem}\">\n{svg}\n<figcaption>{cap} <a href=\"{stem}.png\">PNG</a> · \
             <a href=\"{stem}.svg\">SVG</a></figcaption>\n</figure>\n",
            stem = escape(f.stem),
            cap = escape(&f.caption),
        );
    }
    h.push_str("</section>\n");

    files_section(&mut h, figs);
    let _ = write!(
        h,
        "<footer>Written by fleetsim {}. Times are simulated; the wall-clock figures \
         (<code>wall_seconds</code>, <code>events_per_second</code>) are only in \
         <code>summary.json</code>, so identical runs give identical reports. Unless the \
         scenario sets <code>[prices]</code>, prices are the built-in illustrative catalogue, \
         not Tencent Cloud's.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// What happened, before how: one sentence per finding, each figure from the run's files.
fn findings_section(h: &mut String, findings: &[Finding]) {
    h.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n<ul class=\"findings\">\n");
    for f in findings {
        let _ = writeln!(
            h,
            "<li data-finding=\"{}\">{}</li>",
            f.key(),
            escape(&f.text())
        );
    }
    h.push_str("</ul>\n</section>\n");
}

fn summary_section(h: &mut String, s: &Summary) {
    h.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    let money = |v: f64| format!("{} {}", fmt_money(v), s.currency);
    let mut cards: Vec<(&str, &str, String, String, bool)> = vec![
        (
            "instances_created",
            "instances created",
            s.instances_created.to_string(),
            fmt_int(s.instances_created),
            false,
        ),
        (
            "instances_terminated",
            "instances terminated",
            s.instances_terminated.to_string(),
            fmt_int(s.instances_terminated),
            false,
        ),
        (
            "instances_alive_at_end",
            "alive at end",
            s.instances_alive_at_end.to_string(),
            fmt_int(s.instances_alive_at_end),
            false,
        ),
        (
            "mean_instances_alive",
            "mean instances alive",
            s.mean_instances_alive.to_string(),
            fmt_dec1(s.mean_instances_alive),
            false,
        ),
        (
            "peak_instances_alive",
            "peak instances alive",
            s.peak_instances_alive.to_string(),
            fmt_int(s.peak_instances_alive),
            false,
        ),
        (
            "instances_launch_failed",
            "launches failed",
            s.instances_launch_failed.to_string(),
            fmt_int(s.instances_launch_failed),
            false,
        ),
        (
            "requests_refused",
            "instances refused",
            s.requests_refused.to_string(),
            fmt_int(s.requests_refused),
            s.requests_refused > 0,
        ),
        (
            "api_calls_total",
            "API calls",
            s.api_calls_total.to_string(),
            fmt_int(s.api_calls_total),
            false,
        ),
        (
            "api_calls_throttled",
            "API calls throttled",
            s.api_calls_throttled.to_string(),
            fmt_int(s.api_calls_throttled),
            s.api_calls_throttled > 0,
        ),
        (
            "api_give_ups",
            "client give-ups",
            s.api_give_ups.to_string(),
            fmt_int(s.api_give_ups),
            s.api_give_ups > 0,
        ),
        (
            "cost_total",
            "total cost",
            s.cost_total.to_string(),
            money(s.cost_total),
            false,
        ),
        (
            "events_processed",
            "events processed",
            s.events_processed.to_string(),
            fmt_int(s.events_processed),
            false,
        ),
    ];
    // Figures not every version of the summary has, looked up by name.
    let json = serde_json::to_value(s).unwrap_or(Value::Null);
    let mut at = 1 + cards
        .iter()
        .position(|c| c.0 == "cost_total")
        .unwrap_or(cards.len() - 1);
    for (key, label) in [
        ("cost_to_horizon", "cost to the horizon"),
        ("cost_prepaid_unused", "prepaid beyond the horizon"),
    ] {
        if let Some(v) = json.get(key).and_then(Value::as_f64) {
            cards.insert(at, (key, label, v.to_string(), money(v), false));
            at += 1;
        }
    }
    let unit = format!(" {}", s.currency);
    for (key, label, raw, shown, warn) in cards {
        // Money: the currency small, so that large sums keep to one line.
        let value = match shown.strip_suffix(&unit) {
            Some(n) => format!("{}<span class=\"unit\">{}</span>", escape(n), escape(&unit)),
            None => escape(&shown),
        };
        let _ = writeln!(
            h,
            "<div class=\"card{}\" data-key=\"{key}\" data-value=\"{}\"><div class=\"label\">{}</div>\
             <div class=\"value\">{}</div></div>",
            if warn { " warn" } else { "" },
            escape(&raw),
            escape(label),
            value
        );
    }
    h.push_str(
        "</div>\n<p class=\"muted\">Created = terminated (released) + alive at end. \
         “Instances refused” counts instances asked for by workloads that the control plane \
         refused. Costs are net of refunds; prepaid periods are charged when bought.</p>\n\
         </section>\n",
    );
}

fn scenario_section(h: &mut String, s: &Summary, scn: &Scenario, shown: &Shown) {
    h.push_str("<section id=\"scenario\">\n<h2>Scenario</h2>\n<div class=\"tables\">\n<div>\n");
    h.push_str("<h3>Run</h3>\n<table class=\"kv\">\n");
    let seed = if s.seed == scn.seed {
        s.seed.to_string()
    } else {
        format!("{} (overrides the scenario's {})", s.seed, scn.seed)
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("name", s.scenario.clone()),
        ("file", scn.origin.clone()),
        ("seed", seed),
        ("duration", fmt_secs_duration(s.duration_s)),
        ("sample interval", format_duration(scn.sample_interval)),
        ("currency", s.currency.clone()),
    ];
    for (label, v) in [
        (
            "launch failure probability",
            &shown.launch_failure_probability,
        ),
        ("spot price / postpaid price", &shown.spot_price_fraction),
        ("system disk (GiB)", &shown.disk_gib),
        ("disk price per GiB-hour", &shown.disk_price_per_gib_hour),
        ("API rate limits", &shown.api_preset),
        ("limit window", &shown.api_window),
        ("total API limit", &shown.api_total),
        ("per-action limits", &shown.api_limits),
        ("client retries", &shown.api_retry),
    ] {
        if let Some(v) = v {
            rows.push((label, v.clone()));
        }
    }
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&v));
    }
    h.push_str("</table>\n</div>\n<div>\n");

    // Instance types.
    h.push_str(
        "<h3>Instance types</h3>\n<table>\n<thead><tr><th>type</th><th class=\"num\">vCPUs</th>\
         <th class=\"num\">memory (GiB)</th><th class=\"num\">postpaid / hour</th>\
         <th class=\"num\">prepaid / month</th></tr></thead>\n<tbody>\n",
    );
    let mut illustrative = 0;
    for ((t, p), &given) in scn
        .catalog
        .types
        .iter()
        .zip(&scn.catalog.prices)
        .zip(&shown.priced)
    {
        if !given {
            illustrative += 1;
        }
        let _ = writeln!(
            h,
            "<tr><td class=\"key\">{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&t.name),
            if given { "" } else { " *" },
            t.vcpus,
            t.memory_gib,
            fmt_price(p.postpaid_hourly),
            fmt_price(p.prepaid_monthly),
        );
    }
    let _ = writeln!(
        h,
        "</tbody>\n</table>\n<p class=\"muted\">Prices in {} before discounts{}.</p>\n</div>\n</div>",
        escape(&s.currency),
        if illustrative > 0 {
            "; * the built-in illustrative price (no public CVM price table exists)"
        } else {
            ""
        }
    );

    // Zones.
    h.push_str(
        "<h3>Zones</h3>\n<div class=\"wrap\"><table>\n<thead><tr><th>zone</th><th>region</th>\
         <th class=\"num\">zone id</th><th class=\"num\">postpaid quota</th>\
         <th class=\"num\">prepaid quota</th><th class=\"num\">spot quota</th>\
         <th>quota used outside</th><th>stock</th><th>not offered</th></tr></thead>\n<tbody>\n",
    );
    for (z, zs) in scn.catalog.zones.iter().zip(&shown.zones) {
        let _ = writeln!(
            h,
            "<tr><td class=\"key\">{}</td><td class=\"key\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&z.name),
            escape(&z.region),
            z.zone_id,
            escape(&zs.postpaid),
            escape(&zs.prepaid),
            escape(&zs.spot_cores),
            escape(&zs.used_outside),
            escape(&zs.stock),
            escape(&zs.not_offered)
        );
    }
    h.push_str(
        "</tbody>\n</table></div>\n<p class=\"muted\">Postpaid and prepaid quotas count \
         instances, the spot quota vCPU cores; stock is in instances per type.</p>\n",
    );

    // Workloads.
    h.push_str(
        "<h3>Workloads</h3>\n<div class=\"wrap\"><table>\n<thead><tr><th>workload</th><th>charge type</th>\
         <th>arrivals</th><th>lifetime</th><th>types</th><th>zones</th>\
         <th class=\"num\">instances / request</th></tr></thead>\n<tbody>\n",
    );
    if shown.workloads.is_empty() {
        h.push_str("<tr><td colspan=\"7\" class=\"muted\">no workloads</td></tr>\n");
    }
    for w in &shown.workloads {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(&w.name),
            escape(&w.charge),
            escape(&w.arrivals),
            escape(&w.lifetime),
            escape(&w.types),
            escape(&w.zones),
            escape(&w.per_request)
        );
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");
}

fn cost_section(h: &mut String, s: &Summary, d: &RunData, scn: &Scenario) {
    let cur = escape(&s.currency);
    h.push_str("<section id=\"costs\">\n<h2>Costs</h2>\n<div class=\"tables costs\">\n<div>\n");
    let _ = writeln!(
        h,
        "<h3>By charge type</h3>\n<table>\n<thead><tr><th>charge type</th>\
         <th class=\"num\">cost ({cur})</th><th class=\"num\">share</th></tr></thead>\n<tbody>"
    );
    for (k, v) in &s.cost_by_charge_type {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(k),
            fmt_money(*v),
            pct(*v, s.cost_total)
        );
    }
    let _ = writeln!(
        h,
        "<tr class=\"total\"><td>total</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n\
         </tbody>\n</table>\n<p class=\"muted\">Net of refunds (summary.json).</p>\n</div>\n<div>",
        fmt_money(s.cost_total),
        pct(s.cost_total, s.cost_total)
    );
    match &d.costs {
        Some(c) => {
            let mut charges: Vec<&String> = c.by_zone.keys().map(|k| &k.1).collect();
            charges.sort();
            charges.dedup();
            let _ = write!(
                h,
                "<h3>By zone</h3>\n<div class=\"wrap\"><table>\n<thead><tr><th>zone</th>"
            );
            for ch in &charges {
                let _ = write!(
                    h,
                    "<th class=\"num\" title=\"{}\">{}</th>",
                    escape(ch),
                    escape(short_charge(ch))
                );
            }
            let _ = writeln!(h, "<th class=\"num\">total</th></tr></thead>\n<tbody>");
            let mut col_totals = vec![0.0; charges.len()];
            for z in d.zones(scn) {
                let mut row = 0.0;
                let _ = write!(h, "<tr><td class=\"key\">{}</td>", escape(&z));
                for (i, ch) in charges.iter().enumerate() {
                    let v = c
                        .by_zone
                        .get(&(z.clone(), (*ch).clone()))
                        .copied()
                        .unwrap_or(0.0);
                    row += v;
                    col_totals[i] += v;
                    let _ = write!(h, "<td class=\"num\">{}</td>", fmt_money(v));
                }
                let _ = writeln!(h, "<td class=\"num\">{}</td></tr>", fmt_money(row));
            }
            h.push_str("<tr class=\"total\"><td>total</td>");
            for v in &col_totals {
                let _ = write!(h, "<td class=\"num\">{}</td>", fmt_money(*v));
            }
            let _ = writeln!(
                h,
                "<td class=\"num\">{}</td></tr>\n</tbody>\n</table></div>\n\
                 <p class=\"muted\">In {cur}, from costs.csv.</p>",
                fmt_money(col_totals.iter().sum())
            );
        }
        None => h.push_str(
            "<h3>By zone</h3>\n<p class=\"muted\">No <code>costs.csv</code> in this run folder.</p>\n",
        ),
    }
    h.push_str("</div>\n</div>\n</section>\n");
}

fn api_section(h: &mut String, s: &Summary, d: &RunData) {
    h.push_str("<section id=\"api\">\n<h2>API calls</h2>\n<div class=\"tables api\">\n<div>\n");
    let total: u64 = d.api_by_outcome.values().map(|t| t.calls).sum();
    let ok = d.api_by_outcome.get("OK").map(|t| t.calls).unwrap_or(0);
    h.push_str(
        "<h3>Errors by code</h3>\n<div class=\"wrap\"><table>\n<thead><tr><th>error code</th>\
         <th class=\"num\">calls</th><th class=\"num\">share</th>\
         <th class=\"num\">retries</th><th class=\"num\">give-ups</th></tr></thead>\n<tbody>\n",
    );
    let mut any = false;
    for (code, t) in d.api_by_outcome.iter().filter(|(k, _)| *k != "OK") {
        any = true;
        let _ = writeln!(
            h,
            "<tr><td class=\"key\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(code),
            fmt_int(t.calls),
            pct(t.calls as f64, total as f64),
            fmt_int(t.retries),
            fmt_int(t.give_ups)
        );
    }
    if !any {
        h.push_str("<tr><td colspan=\"5\" class=\"muted\">no API call failed</td></tr>\n");
    }
    let _ = writeln!(
        h,
        "</tbody>\n</table></div>\n<p class=\"muted\">{} calls in all, {} OK. “Share” is of all \
         calls; “retries” counts the calls that were retries; {} client(s) gave up after their \
         last retry (“give-ups”, by the error that ended them).</p>\n</div>\n<div>",
        fmt_int(s.api_calls_total),
        fmt_int(ok),
        fmt_int(s.api_give_ups)
    );
    h.push_str(
        "<h3>Calls by action</h3>\n<div class=\"wrap\"><table>\n<thead><tr><th>action</th>\
         <th class=\"num\">calls</th><th class=\"num\">errors</th>\
         <th class=\"num\">retries</th></tr></thead>\n<tbody>\n",
    );
    if d.api_by_action.is_empty() {
        h.push_str("<tr><td colspan=\"4\" class=\"muted\">no API calls</td></tr>\n");
    }
    for (a, t) in &d.api_by_action {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(a),
            fmt_int(t.calls),
            fmt_int(t.errors),
            fmt_int(t.retries)
        );
    }
    h.push_str("</tbody>\n</table></div>\n</div>\n</div>\n</section>\n");
}

fn quota_section(h: &mut String, d: &RunData, scn: &Scenario) {
    h.push_str(
        "<section id=\"quotas\">\n<h2>Quota peaks</h2>\n<div class=\"wrap\"><table>\n<thead><tr><th>zone</th>\
         <th>charge type</th><th>unit</th><th class=\"num\">peak use</th>\
         <th class=\"num\">first at</th><th class=\"num\">quota</th>\
         <th class=\"num\">peak / quota</th></tr></thead>\n<tbody>\n",
    );
    let zones = d.zones(scn);
    let mut keys: Vec<&(String, String)> = d.quota.keys().collect();
    keys.sort_by_key(|(z, c)| (zones.iter().position(|x| x == z), c.clone()));
    if keys.is_empty() {
        h.push_str("<tr><td colspan=\"7\" class=\"muted\">quota.csv has no rows</td></tr>\n");
    }
    for key in keys {
        let track = &d.quota[key];
        let Some((peak, at)) = track.peak() else {
            continue;
        };
        let total = track.total();
        let hit = total.is_some_and(|q| peak >= q);
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            if hit { " class=\"hit\"" } else { "" },
            escape(&key.0),
            escape(&key.1),
            escape(&track.unit),
            fmt_count(peak),
            if peak > 0.0 {
                escape(&fmt_clock(at))
            } else {
                "–".into()
            },
            total.map(fmt_count).unwrap_or_else(|| "unlimited".into()),
            total.map(|q| pct(peak, q)).unwrap_or_else(|| "–".into())
        );
    }
    h.push_str(
        "</tbody>\n</table></div>\n<p class=\"muted\">From quota.csv, at every sample: use includes \
         quota used outside the simulation; postpaid and prepaid quotas count instances, the spot \
         quota vCPU cores. Rows in red reached their quota.</p>\n</section>\n",
    );
}

fn files_section(h: &mut String, figs: &Figures) {
    h.push_str(
        "<section id=\"files\">\n<h2>Files in this folder</h2>\n<table class=\"files\">\n<tbody>\n",
    );
    let mut files: Vec<(String, &str)> = vec![
        ("summary.json".into(), "headline figures"),
        (
            "timeseries.csv".into(),
            "the fleet at every sample, per zone, charge type and state",
        ),
        (
            "quota.csv".into(),
            "quota use at every sample, per zone and charge type",
        ),
        (
            "api.csv".into(),
            "API calls per time bucket, action and outcome",
        ),
        ("instances.csv".into(), "one row per instance ever created"),
    ];
    if figs.data.costs.is_some() {
        files.push(("costs.csv".into(), "cost per hour, zone and charge type"));
    }
    for f in &figs.figures {
        files.push((format!("{}.svg", f.stem), "chart (vector)"));
        files.push((format!("{}.png", f.stem), "chart (1000×600 image)"));
    }
    for (name, what) in files {
        let n = escape(&name);
        let _ = writeln!(
            h,
            "<tr><td><a href=\"{n}\">{n}</a></td><td>{}</td></tr>",
            escape(what)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// `postpaid`, `prepaid` and `spot` for the charge types, for narrow table headers.
fn short_charge(c: &str) -> &str {
    match c {
        "POSTPAID_BY_HOUR" => "postpaid",
        "PREPAID" => "prepaid",
        "SPOTPAID" => "spot",
        other => other,
    }
}

fn fmt_secs_duration(s: f64) -> String {
    format_duration(SimDuration((s * 1000.0).round().max(0.0) as u64))
}

/// Simulated time as `d<day> hh:mm:ss`, like `--trace`.
fn fmt_clock(t: Ms) -> String {
    let s = t / 1000;
    format!(
        "d{} {:02}:{:02}:{:02}",
        s / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// An integer with thousands separators: 1234567 -> "1,234,567".
fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with thousands separators when it is whole (`1,860`), else as it is.
fn fmt_count(v: f64) -> String {
    if v >= 0.0 && v == v.trunc() && v < 1e15 {
        fmt_int(v as u64)
    } else {
        fmt_num(v)
    }
}

/// One decimal and thousands separators: 3195.94 -> "3,195.9".
fn fmt_dec1(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let tenths = (v.abs() * 10.0).round() as u64;
    format!(
        "{}{}.{}",
        if v < 0.0 && tenths > 0 { "-" } else { "" },
        fmt_int(tenths / 10),
        tenths % 10
    )
}

/// Money with two decimals and thousands separators.
fn fmt_money(v: f64) -> String {
    let cents = (v * 100.0).round();
    let neg = cents < 0.0;
    let cents = cents.abs() as u64;
    format!(
        "{}{}.{:02}",
        if neg { "-" } else { "" },
        fmt_int(cents / 100),
        cents % 100
    )
}

/// A price in micro-units with up to four decimals.
fn fmt_price(micro: u64) -> String {
    let v = micro as f64 / 1e6;
    if v >= 100.0 {
        fmt_money(v)
    } else {
        format!("{v:.4}")
    }
}

/// A number without a trailing `.0`.
fn fmt_num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn pct(part: f64, whole: f64) -> String {
    if whole > 0.0 && part.is_finite() {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "–".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(1000), "1,000");
        assert_eq!(fmt_int(1234567), "1,234,567");
        assert_eq!(fmt_money(270.046), "270.05");
        assert_eq!(fmt_money(-1234.5), "-1,234.50");
        assert_eq!(fmt_clock(93_784_000), "d1 02:03:04");
        assert_eq!(pct(1.0, 4.0), "25.0%");
        assert_eq!(pct(1.0, 0.0), "–");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_count(1860.0), "1,860");
        assert_eq!(fmt_count(2.5), "2.5");
        assert_eq!(fmt_dec1(3195.94), "3,195.9");
        assert_eq!(fmt_dec1(-0.01), "0.0");
    }

    #[test]
    fn svg_is_inlined_without_prolog() {
        let s = inline_svg(
            "<?xml version=\"1.0\"?>\n<svg width=\"10\" viewBox=\"0 0 10 10\"></svg>\n",
            "a <b>",
        );
        assert_eq!(
            s,
            "<svg class=\"chart\" role=\"img\" aria-label=\"a &lt;b&gt;\" width=\"10\" \
             viewBox=\"0 0 10 10\"></svg>"
        );
    }
}
