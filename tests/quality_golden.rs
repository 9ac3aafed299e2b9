//! recwatch::quality against golden values computed independently in Python by
//! `scripts/quality_reference.py` (numpy 2.4, scikit-learn 1.9): the inputs are in
//! `tests/fixtures/quality_inputs.json`; each expected value names the call that produced it.
#![cfg(feature = "quality")]

use std::collections::HashMap;

use recwatch::quality::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Inputs {
    actual: Vec<f64>,
    predicted: Vec<f64>,
    k: usize,
    catalogue_size: usize,
    users: u64,
    recommended: Vec<Vec<u64>>,
    relevance: Vec<Vec<(u64, f64)>>,
    genres: HashMap<String, Vec<String>>,
    popularity: HashMap<String, u64>,
}

fn inputs() -> Inputs {
    serde_json::from_str(include_str!("fixtures/quality_inputs.json")).unwrap()
}

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

#[test]
fn rating_metrics_match_sklearn_and_numpy() {
    let d = inputs();
    let m = RatingMetrics::compute(&d.actual, &d.predicted).unwrap();
    assert_eq!(m.count, 200);
    // math.sqrt(sklearn.metrics.mean_squared_error(actual, predicted))
    close(m.rmse, 0.6116371473349211);
    // sklearn.metrics.mean_absolute_error(actual, predicted)
    close(m.mae, 0.46099999999999997);
    // np.var(predicted)
    close(m.prediction_variance, 2.250664);
    // len(set(predicted.tolist())) / len(predicted)
    close(m.prediction_value_coverage, 0.22);
}

#[test]
fn ranking_metrics_match_reference() {
    let d = inputs();
    let binary: Vec<Vec<u64>> = d
        .relevance
        .iter()
        .map(|r| r.iter().map(|(i, _)| *i).collect())
        .collect();
    let m = RankingMetrics::compute(
        d.recommended
            .iter()
            .zip(&binary)
            .map(|(r, t)| (&r[..], &t[..])),
        d.k,
    )
    .unwrap();
    // len(rows), N_USERS - len(rows): users with at least one relevant item
    assert_eq!((m.users, m.skipped_users), (34, 6));
    // mean of per_user(rec, rel, 5)[0]: hits in top 5 / 5
    close(m.precision, 0.26470588235294124);
    // mean of per_user(...)[1]: hits / |relevant|
    close(m.recall, 0.3647058823529412);
    // mean of per_user(...)[2]: sum of precision@i at hits / min(|relevant|, 5)
    close(m.map, 0.24727124183006535);
    // mean of per_user(...)[3]: 1 / rank of the first hit
    close(m.mrr, 0.4583333333333333);
    // mean of per_user(...)[4]: any hit in the top 5
    close(m.hit_rate, 0.6764705882352942);
    // mean of sklearn.metrics.ndcg_score([binary gains], [scores], k=5)
    close(m.ndcg, 0.34194131184973414);

    let graded = |gain| {
        RankingMetrics::compute_graded(
            d.recommended
                .iter()
                .zip(&d.relevance)
                .map(|(r, t)| (&r[..], &t[..])),
            d.k,
            gain,
        )
        .unwrap()
        .ndcg
    };
    // mean of sklearn.metrics.ndcg_score([2**grade - 1], [scores], k=5)
    close(graded(Gain::Exponential), 0.24549182613024254);
    // mean of sklearn.metrics.ndcg_score([grade], [scores], k=5)
    close(graded(Gain::Linear), 0.2790972767661988);
    // Binary gain on graded input equals the binary run.
    close(graded(Gain::Binary), 0.34194131184973414);
}

#[test]
fn beyond_accuracy_metrics_match_reference() {
    let d = inputs();
    let lists = &d.recommended;
    let genres = |i: &u64| d.genres[&i.to_string()].clone();
    // len(set(flat)) / CATALOGUE
    close(catalogue_coverage(lists, d.catalogue_size).unwrap(), 0.75);
    // len(set(flat)) / len(flat)
    close(diversity(lists).unwrap(), 0.1875);
    // np.mean([np.mean([jaccard_distance(genres[a], genres[b]) for a, b in combinations(lst, 2)])])
    close(
        intra_list_diversity(lists, genres).unwrap(),
        0.8036458333333334,
    );
    // {g: c / total for g, c in Counter(genre of every recommended item)}
    let dist = genre_distribution(lists, genres).unwrap();
    for (genre, share) in [
        ("action", 0.15202702702702703),
        ("comedy", 0.19932432432432431),
        ("crime", 0.13344594594594594),
        ("drama", 0.11824324324324324),
        ("horror", 0.21114864864864866),
        ("romance", 0.1858108108108108),
    ] {
        close(dist[genre.to_owned().as_str()], share);
    }
    // np.mean([sum(-np.log2(popularity[i] / N_USERS) for i in lst) / len(lst) for lst in recommended])
    let pop = |i: &u64| d.popularity[&i.to_string()];
    close(novelty(lists, pop, d.users).unwrap(), 1.3900832040893782);
    // 1 - cosine_similarity(m)[np.triu_indices(N_USERS, k=1)].mean()
    close(personalization(lists).unwrap(), 0.8685897435897436);
    // gini_mean_difference(np.bincount(flat, minlength=CATALOGUE))
    close(
        gini_exposure(lists, GiniPopulation::Catalogue(d.catalogue_size)).unwrap(),
        0.41296875,
    );
    // gini_mean_difference(exposure[exposure > 0])
    close(
        gini_exposure(lists, GiniPopulation::Recommended).unwrap(),
        0.21729166666666666,
    );
}

#[test]
fn report_publishes_one_gauge_per_metric_and_the_headline() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let d = inputs();
    let rating = RatingMetrics::compute(&d.actual, &d.predicted).unwrap();
    let report = QualityReport::new()
        .with_rating(&rating)
        .with_value(QualityMetric::Diversity, 0.1875);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        assert!(matches!(
            report.publish(QualityMetric::NdcgAtK),
            Err(QualityError::MissingHeadline("ndcg_at_k"))
        ));
        report.publish(QualityMetric::Diversity).unwrap();
    });
    let snap = snapshotter.snapshot().into_vec();
    let gauges: Vec<(String, Option<String>, f64)> = snap
        .into_iter()
        .filter_map(|(k, _, _, v)| match v {
            DebugValue::Gauge(g) => Some((
                k.key().name().to_owned(),
                k.key().labels().next().map(|l| l.value().to_owned()),
                g.into_inner(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(gauges.len(), 6, "{gauges:?}");
    assert!(gauges.contains(&("recommendation_quality_score".into(), None, 0.1875)));
    assert!(gauges.contains(&(
        "recommendation_quality_metric".into(),
        Some("mae".into()),
        rating.mae
    )));
    // Every metric label value is one of the fixed names.
    let names: Vec<&str> = QualityMetric::ALL.iter().map(|m| m.as_str()).collect();
    assert!(gauges
        .iter()
        .filter_map(|(_, l, _)| l.as_deref())
        .all(|l| names.contains(&l)));
}
