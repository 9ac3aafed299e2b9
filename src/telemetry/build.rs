//! [`TelemetryConfig::build`] and [`TelemetryConfig::install`]: the filter and the resource,
//! then the OTLP pipelines ([`otlp`](super::otlp)) and the subscriber
//! ([`subscriber`](super::subscriber)).

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};

use super::guard::{Guard, Telemetry};
use super::subscriber::{self, Parts, Service};
use super::{otlp, TelemetryConfig, TelemetryError};

impl TelemetryConfig {
    /// Builds the subscriber and the exporters without installing anything global.
    ///
    /// The exporters' and the log writer's threads start here and are owned by the returned
    /// [`Telemetry`]'s [`Guard`]; nothing is sent anywhere yet (exporters connect lazily), and
    /// no environment variable is read (that is [`from_env`](Self::from_env)'s job).
    ///
    /// # Errors
    ///
    /// A typed [`TelemetryError`] for an invalid filter or endpoint (naming where it came from),
    /// gRPC export outside a Tokio runtime, an exporter that cannot be built, or a log writer
    /// thread that cannot start.
    ///
    /// ```
    /// use recwatch::telemetry::{TelemetryConfig, TelemetryError};
    ///
    /// let err = TelemetryConfig::new()
    ///     .with_otlp_endpoint("collector:4318")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, TelemetryError::EndpointNotHttp { .. }));
    /// ```
    pub fn build(self) -> Result<Telemetry, TelemetryError> {
        let filter_text = self
            .filter
            .clone()
            .unwrap_or_else(|| self.default_filter.clone());
        let filter = EnvFilter::builder().parse(&filter_text).map_err(|source| {
            TelemetryError::InvalidFilter {
                filter: filter_text.clone(),
                source,
            }
        })?;
        let log_level = log_level(filter.max_level_hint());

        let (resource, service) = self.resource();
        let (tracer_provider, queue) = otlp::tracer_provider(&self, resource.clone())?;
        let logger_provider = otlp::logger_provider(&self, resource)?;

        let (dispatch, log_pipe) = subscriber::dispatch(Parts {
            filter,
            format: self.log_format,
            writer: self.writer,
            log_queue_size: self.log_queue_size,
            tracer_provider: &tracer_provider,
            logger_provider: logger_provider.as_ref(),
            service,
        })?;
        Ok(Telemetry {
            dispatch,
            guard: Guard {
                tracer_provider,
                logger_provider,
                queue,
                log_pipe,
                timeout: self.shutdown_timeout,
                done: false,
            },
            log_level,
            log_bridge: self.log_bridge,
        })
    }

    /// Builds, then makes the subscriber process-global: see [`Telemetry::install`]. Keep the
    /// returned [`Guard`] for the life of the program (or [`detach`](Guard::detach) it).
    ///
    /// # Errors
    ///
    /// Those of [`build`](Self::build), and [`TelemetryError::SubscriberAlreadySet`] when a
    /// global subscriber exists.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), recwatch::telemetry::TelemetryError> {
    /// let _guard = recwatch::telemetry::TelemetryConfig::from_env()?.install()?;
    /// tracing::info!(user = 42, "ready");
    /// # Ok(()) }
    /// ```
    pub fn install(self) -> Result<Guard, TelemetryError> {
        self.build()?.install()
    }

    /// The resource of every span and log record. The environment's names win over the ones
    /// in code, so a deployment renames the service without a rebuild.
    fn resource(&self) -> (Resource, Service) {
        let from_attrs = |key: &str| {
            self.env_resource
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let configured = self
            .env_service_name
            .clone()
            .or_else(|| from_attrs("service.name"))
            .or_else(|| self.service_name.clone());
        let named = configured.is_some();
        let name = configured.unwrap_or_else(default_service_name);
        let version = from_attrs("service.version").or_else(|| self.service_version.clone());

        let mut attributes: Vec<KeyValue> = self
            .env_resource
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        if let Some(v) = &version {
            attributes.push(KeyValue::new("service.version", v.clone()));
        }
        let resource = Resource::builder_empty()
            .with_detector(Box::new(TelemetryResourceDetector))
            .with_attributes(attributes)
            .with_service_name(name.clone())
            .build();
        (
            resource,
            Service {
                name,
                version,
                named,
            },
        )
    }
}

/// `unknown_service:<executable>`, as the OpenTelemetry specification has it.
fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .map_or_else(
            || "unknown_service".to_owned(),
            |n| format!("unknown_service:{n}"),
        )
}

/// The `log` crate's maximum level matching the filter, so records the filter would drop are
/// not even formatted.
fn log_level(hint: Option<LevelFilter>) -> log::LevelFilter {
    match hint {
        Some(LevelFilter::OFF) => log::LevelFilter::Off,
        Some(LevelFilter::ERROR) => log::LevelFilter::Error,
        Some(LevelFilter::WARN) => log::LevelFilter::Warn,
        Some(LevelFilter::INFO) => log::LevelFilter::Info,
        Some(LevelFilter::DEBUG) => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_win_over_code() {
        let mut config = TelemetryConfig::new()
            .with_service_name("code")
            .with_service_version("1");
        let (_, service) = config.resource();
        assert_eq!(service.name, "code");
        assert_eq!(service.version.as_deref(), Some("1"));
        assert!(service.named);

        config.env_resource = vec![("service.version".into(), "2".into())];
        config.env_service_name = Some("env".into());
        let (resource, service) = config.resource();
        assert_eq!(service.name, "env");
        assert_eq!(service.version.as_deref(), Some("2"));
        assert_eq!(
            resource
                .get(&opentelemetry::Key::new("service.name"))
                .map(|v| v.to_string()),
            Some("env".to_owned())
        );

        let (_, service) = TelemetryConfig::new().resource();
        assert!(service.name.starts_with("unknown_service"));
        assert!(!service.named);
    }
}
