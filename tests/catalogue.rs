//! The catalogue is the one source of truth: docs/metrics.md's table is generated from it, and
//! every metric recwatch records is exported with the catalogue's HELP and TYPE.

use std::collections::BTreeMap;

use recwatch::catalogue::{self, MetricKind};
use recwatch::exporter::ExporterBuilder;

#[test]
fn docs_table_matches_the_catalogue() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
        .expect("docs/metrics.md");
    let start = docs
        .find("<!-- catalogue:start -->\n")
        .expect("start marker");
    let end = docs.find("<!-- catalogue:end -->").expect("end marker");
    let table = &docs[start + "<!-- catalogue:start -->\n".len()..end];
    assert_eq!(
        table,
        catalogue::to_markdown(),
        "regenerate with `cargo run --example catalogue -- --markdown`"
    );
}

/// `# TYPE` and `# HELP` lines of an exposition, by family.
fn families(text: &str) -> BTreeMap<String, (String, bool)> {
    let mut out: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            out.entry(name.into()).or_default().0 = kind.into();
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').unwrap();
            out.entry(name.into()).or_default().1 = true;
        }
    }
    out
}

#[test]
fn every_catalogue_metric_exports_with_its_type_and_help() {
    let (recorder, handle) = ExporterBuilder::new().with_service("svc").build();
    metrics::with_local_recorder(&recorder, || {
        for spec in catalogue::all() {
            let labels: Vec<metrics::Label> = spec
                .labels
                .iter()
                .map(|k| metrics::Label::new(*k, "x"))
                .collect();
            match (spec.kind, spec.fractional) {
                (MetricKind::Counter, false) => {
                    metrics::counter!(spec.name, labels.iter()).increment(1)
                }
                (MetricKind::Histogram, _) => {
                    metrics::histogram!(spec.name, labels.iter()).record(1.0)
                }
                _ => metrics::gauge!(spec.name, labels.iter()).set(1.0),
            }
        }
    });
    let text = handle.render();
    let found = families(&text);
    for spec in catalogue::all() {
        let (kind, help) = found
            .get(spec.name)
            .unwrap_or_else(|| panic!("{} missing from:\n{text}", spec.name));
        assert_eq!(kind, spec.exposition_type(), "{}", spec.name);
        assert!(help, "{} has no HELP", spec.name);
        assert!(
            text.contains(&format!("# HELP {} {}\n", spec.name, spec.help)),
            "{}",
            spec.name
        );
        if let Some(buckets) = spec.buckets {
            let first = format!("{}_bucket{{", spec.name);
            let line = text
                .lines()
                .find(|l| l.starts_with(&first))
                .unwrap_or_else(|| panic!("{} has no buckets", spec.name));
            assert!(
                line.contains(&format!("le=\"{}\"", buckets[0])),
                "{} first bucket: {line}",
                spec.name
            );
        }
    }
    assert_eq!(found.len(), catalogue::all().len(), "{text}");
}
