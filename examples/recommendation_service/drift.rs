//! Drift monitoring of the service's request features (built with `--features drift`).
//!
//! Each `/recommend` call records one row: `k`, the request context (`device`, `hour`; defaults
//! `"mobile"` and 12 when absent) and what the service computed (`top_score`, the best item's
//! score, and `mean_popularity`, the mean popularity prior of what it returned). A monitor
//! checks the last `--drift-window N` rows (default 500) every `--drift-interval SECS`
//! (default 30) against a reference profile fitted at start-up from synthetic "normal"
//! traffic (sketch mode: the service keeps a bounded summary, not the rows), and
//! publishes the drift gauges in `/metrics`; with `--drift-webhook URL` it posts an alert
//! (Slack-compatible JSON) when the drift score rises above 0.5.
//!
//! Normal traffic (the reference, 1000 requests): user ids uniform in 0..100 000; `k` 10 half
//! the time, else 5 or 20; `device` mobile 60 %, desktop 30 %, tv 10 %; `hour` uniform in
//! 8..=23. Traffic that alerts: more than half of the five features moved, e.g. a burst of
//! `{"user_id": …, "k": 50, "context": {"device": "tv", "hour": 3}}` (k, device and hour drift:
//! score 0.6).

use serde::Deserialize;
use std::time::Duration;

/// The request's context features; absent fields take the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(not(feature = "drift"), allow(dead_code))]
pub struct RequestContext {
    device: Option<String>,
    hour: Option<u8>,
}

#[cfg_attr(not(feature = "drift"), allow(dead_code))]
impl RequestContext {
    fn device(&self) -> &str {
        self.device.as_deref().unwrap_or("mobile")
    }
    fn hour(&self) -> u8 {
        self.hour.unwrap_or(12)
    }
}

/// `--drift-window`, `--drift-interval`, `--drift-webhook`.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "drift"), allow(dead_code))]
pub struct DriftArgs {
    window: usize,
    interval: Duration,
    webhook: Option<String>,
    given: bool,
}

impl Default for DriftArgs {
    fn default() -> Self {
        DriftArgs {
            window: 500,
            interval: Duration::from_secs(30),
            webhook: None,
            given: false,
        }
    }
}

impl DriftArgs {
    /// The usage text of the drift options.
    pub const USAGE: &'static str =
        "[--drift-window N] [--drift-interval SECS] [--drift-webhook URL]";

    /// Takes one drift option; `Ok(false)` when `flag` is not one.
    pub fn parse(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<bool, String> {
        match flag {
            "--drift-window" => {
                let v = value(flag)?;
                self.window = v
                    .parse()
                    .ok()
                    .filter(|n| *n >= 30)
                    .ok_or_else(|| format!("--drift-window {v}: a row count of at least 30"))?;
            }
            "--drift-interval" => {
                let v = value(flag)?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--drift-interval {v}: a positive number of seconds"))?;
                self.interval = Duration::from_secs_f64(secs);
            }
            "--drift-webhook" => self.webhook = Some(value(flag)?),
            _ => return Ok(false),
        }
        self.given = true;
        Ok(true)
    }
}

#[cfg(feature = "drift")]
pub use enabled::DriftState;

#[cfg(feature = "drift")]
mod enabled {
    use super::{DriftArgs, RequestContext};
    use crate::{splitmix, Model, Scored};
    use polars::prelude::*;
    use recwatch::drift::{
        DriftDetector, DriftMonitor, DriftMonitorBuilder, FeatureValue, LogNotifier,
        ReferenceProfile, SketchOptions, WebhookNotifier, Window,
    };

    /// The running monitor.
    pub struct DriftState {
        monitor: DriftMonitor,
    }

    /// One request's features.
    fn features(
        model: &Model,
        k: u32,
        ctx: &RequestContext,
        items: &[Scored],
    ) -> [(&'static str, FeatureValue); 5] {
        let top = items.first().map_or(f64::NAN, |s| s.score as f64);
        let pop = if items.is_empty() {
            f64::NAN
        } else {
            items
                .iter()
                .filter_map(|s| model.movies.get(s.movie_id as usize))
                .map(|m| m.popularity as f64)
                .sum::<f64>()
                / items.len() as f64
        };
        [
            ("k", FeatureValue::from(k as f64)),
            ("device", FeatureValue::from(ctx.device())),
            ("hour", FeatureValue::from(ctx.hour() as f64)),
            ("top_score", FeatureValue::from(top)),
            ("mean_popularity", FeatureValue::from(pop)),
        ]
    }

    /// The documented normal traffic, run through the model.
    fn reference(model: &Model) -> PolarsResult<DataFrame> {
        let n = 1000;
        let mut s = 0x0005_EEDD_21F7_u64;
        let (mut k, mut device, mut hour, mut top, mut pop) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let user = splitmix(&mut s) % 100_000;
            let kk = match splitmix(&mut s) % 4 {
                0 => 5,
                1 => 20,
                _ => 10,
            };
            let d = match splitmix(&mut s) % 10 {
                0..=5 => "mobile",
                6..=8 => "desktop",
                _ => "tv",
            };
            let h = 8 + (splitmix(&mut s) % 16) as u8;
            let ctx = RequestContext {
                device: Some(d.into()),
                hour: Some(h),
            };
            let items = model.rank(user, kk as usize);
            let row = features(model, kk, &ctx, &items);
            let num = |v: &FeatureValue| match v {
                FeatureValue::Float(x) => *x,
                _ => f64::NAN,
            };
            k.push(num(&row[0].1));
            device.push(d);
            hour.push(num(&row[2].1));
            top.push(num(&row[3].1));
            pop.push(num(&row[4].1));
        }
        df!(
            "k" => k,
            "device" => device,
            "hour" => hour,
            "top_score" => top,
            "mean_popularity" => pop,
        )
    }

    impl DriftState {
        /// Fits the reference profile and starts the monitor.
        pub fn start(args: &DriftArgs, model: &Model) -> Result<Self, Box<dyn std::error::Error>> {
            let profile =
                ReferenceProfile::fit_sketch(reference(model)?.lazy(), SketchOptions::new())?;
            let mut b = DriftMonitorBuilder::from_profile(profile)
                .with_detector(DriftDetector::new())
                .with_window(Window::Rows(args.window))
                .with_interval(args.interval)
                .add_notifier(LogNotifier::stderr());
            if let Some(url) = &args.webhook {
                b = b.add_notifier(WebhookNotifier::new(url.clone()));
            }
            let monitor = b.spawn()?;
            eprintln!(
                "drift monitor: window {} rows, every {:?}, alert above 0.5{}",
                args.window,
                args.interval,
                args.webhook
                    .as_deref()
                    .map(|u| format!(", webhook {u}"))
                    .unwrap_or_default()
            );
            Ok(DriftState { monitor })
        }

        /// Records one request (never blocks).
        pub fn record(&self, model: &Model, k: u32, ctx: &RequestContext, items: &[Scored]) {
            self.monitor.record(features(model, k, ctx, items));
        }
    }
}

#[cfg(not(feature = "drift"))]
pub use disabled::DriftState;

#[cfg(not(feature = "drift"))]
mod disabled {
    use super::{DriftArgs, RequestContext};
    use crate::{Model, Scored};

    /// Without the `drift` feature: nothing is monitored.
    pub struct DriftState;

    impl DriftState {
        pub fn start(args: &DriftArgs, _: &Model) -> Result<Self, Box<dyn std::error::Error>> {
            eprintln!(
                "drift monitor: off (build with `--features drift` to monitor request features{})",
                if args.given {
                    "; the --drift-* options are ignored"
                } else {
                    ""
                }
            );
            Ok(DriftState)
        }

        pub fn record(&self, _: &Model, _: u32, _: &RequestContext, _: &[Scored]) {}
    }
}
