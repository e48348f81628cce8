//! The site's runtime settings (site root, pkg dir, output name, address), from
//! cargo-leptos's `LEPTOS_*` variables or from `Leptos.toml`.

use leptos::prelude::LeptosOptions;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The site settings could not be read.
#[derive(Debug, Error)]
pub enum SiteConfigError {
    /// `LEPTOS_*` variables were present but invalid.
    #[error("LEPTOS_* environment: {0}")]
    Env(String),
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("invalid {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
}

/// The site's runtime settings.
///
/// Under cargo-leptos (`LEPTOS_OUTPUT_NAME` set) they come from its `LEPTOS_*` variables.
/// Otherwise from `path`, a flat TOML file of `LeptosOptions` keys; a missing file at the
/// default path means the built-in defaults, a missing file named explicitly is an error.
pub fn site_options(path: &Path, explicit: bool) -> Result<LeptosOptions, SiteConfigError> {
    if std::env::var_os("LEPTOS_OUTPUT_NAME").is_some() {
        return leptos::config::get_configuration(None)
            .map(|c| c.leptos_options)
            .map_err(|e| SiteConfigError::Env(e.to_string()));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|source| SiteConfigError::Parse {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            Ok(LeptosOptions::builder().output_name("chorus").build())
        }
        Err(source) => Err(SiteConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}
