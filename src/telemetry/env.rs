//! [`TelemetryConfig::from_env`]: the standard OpenTelemetry variables (and `RUST_LOG`,
//! `RECWATCH_LOG_FORMAT`) read once, into the configuration.

use opentelemetry_sdk::trace::Sampler;

use super::{LogFormat, OtlpProtocol, TelemetryConfig, TelemetryError};

impl TelemetryConfig {
    /// A configuration read from the environment (the variables in the table above), on top of
    /// [`new`](Self::new)'s defaults.
    ///
    /// The variables are read now, once; setters called afterwards win over what was read, and
    /// [`build`](Self::build) reads none of them again. An empty variable counts as unset.
    ///
    /// # Errors
    ///
    /// A variable that is not UTF-8 ([`TelemetryError::NotUnicode`]), names an unknown log
    /// format, protocol or sampler ([`TelemetryError::UnknownLogFormat`],
    /// [`TelemetryError::UnknownProtocol`], [`TelemetryError::UnknownSampler`]), or gives a
    /// sampler ratio outside `0..=1` ([`TelemetryError::InvalidSamplerArg`]). Endpoints are
    /// validated by [`build`](Self::build), which names the variable they came from.
    ///
    /// ```
    /// let config = recwatch::telemetry::TelemetryConfig::from_env()?;
    /// # let _ = config;
    /// # Ok::<(), recwatch::telemetry::TelemetryError>(())
    /// ```
    pub fn from_env() -> Result<Self, TelemetryError> {
        let mut config = Self::new();
        config.filter = env_var("RUST_LOG")?;
        if let Some(v) = env_var("RECWATCH_LOG_FORMAT")? {
            config.log_format = v.parse::<LogFormat>()?;
        }

        config.env_service_name = env_var("OTEL_SERVICE_NAME")?.map(|v| v.trim().to_owned());
        if let Some(attrs) = env_var("OTEL_RESOURCE_ATTRIBUTES")? {
            config.env_resource = parse_resource_attributes(&attrs);
        }

        const BASE: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
        config.endpoint = env_var(BASE)?.map(|v| (v, BASE));
        config.protocol = env_var("OTEL_EXPORTER_OTLP_PROTOCOL")?
            .map(|v| v.parse::<OtlpProtocol>())
            .transpose()?;
        for (settings, endpoint_var, protocol_var) in [
            (
                &mut config.traces,
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            ),
            (
                &mut config.logs,
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            ),
        ] {
            settings.endpoint = env_var(endpoint_var)?.map(|v| (v, endpoint_var));
            settings.protocol = env_var(protocol_var)?
                .map(|v| v.parse::<OtlpProtocol>())
                .transpose()?;
        }

        if let Some(name) = env_var("OTEL_TRACES_SAMPLER")? {
            config.sampler = parse_sampler(&name, env_var("OTEL_TRACES_SAMPLER_ARG")?.as_deref())?;
        }
        if env_var("OTEL_TRACES_EXPORTER")?.is_some_and(|v| v.trim() == "none") {
            config.export_traces = Some(false);
        }
        config.export_logs = env_var("OTEL_LOGS_EXPORTER")?.is_some_and(|v| v.trim() == "otlp");
        Ok(config)
    }
}

/// `key=value,key=value` as the SDK's own detector reads it (entries without `=` skipped).
fn parse_resource_attributes(text: &str) -> Vec<(String, String)> {
    text.split_terminator(',')
        .filter_map(|entry| entry.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Reads a variable; empty counts as unset.
fn env_var(name: &'static str) -> Result<Option<String>, TelemetryError> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(TelemetryError::NotUnicode { name }),
    }
}

/// Parses `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` values.
fn parse_sampler(name: &str, arg: Option<&str>) -> Result<Sampler, TelemetryError> {
    let ratio = || -> Result<f64, TelemetryError> {
        match arg {
            None => Ok(1.0),
            Some(a) => match a.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(TelemetryError::InvalidSamplerArg {
                    value: a.to_owned(),
                }),
            },
        }
    };
    Ok(match name.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
        }
        other => {
            return Err(TelemetryError::UnknownSampler {
                value: other.to_owned(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_attributes_parse_like_the_sdk() {
        assert_eq!(
            parse_resource_attributes("service.name=a, k = v ,bad,=x,deployment.environment=it"),
            vec![
                ("service.name".to_owned(), "a".to_owned()),
                ("k".to_owned(), "v".to_owned()),
                ("deployment.environment".to_owned(), "it".to_owned()),
            ]
        );
    }

    #[test]
    fn samplers_parse() {
        assert!(matches!(
            parse_sampler("always_on", None).unwrap(),
            Sampler::AlwaysOn
        ));
        assert!(matches!(
            parse_sampler("traceidratio", Some("0.25")).unwrap(),
            Sampler::TraceIdRatioBased(r) if r == 0.25
        ));
        assert!(matches!(
            parse_sampler("traceidratio", Some("2")),
            Err(TelemetryError::InvalidSamplerArg { .. })
        ));
        assert!(matches!(
            parse_sampler("jaeger_remote", None),
            Err(TelemetryError::UnknownSampler { .. })
        ));
    }
}
