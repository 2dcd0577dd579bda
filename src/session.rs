//! One run's session with AWS: the checked services.toml, the user pool and region in force, the
//! cloud (the pool, SSM and the credentials store, built from one AWS configuration loaded once)
//! and the pacer every call goes through. Every command that talks to AWS gets all of these from
//! here, so they are decided by one rule for every command.
//!
//! The environment (`--env`, `COGWIRE_ENV`) is resolved when services.toml is read: the model
//! holds that environment's pool and secrets, so the rule below reads them unchanged; with
//! environments declared and none chosen, a missing pool names the environments to choose from.
//!
//! The region, first found of: `--region`; `[pool] region`; the region the pool id names (the
//! part before `_`: a pool id always carries its region); the AWS chain (`AWS_REGION`, the
//! profile's `region`).

use crate::cloud::Cloud;
use crate::cloud::aws::{AwsCloud, AwsSettings, load_config};
use crate::cloud::pace::{PaceSettings, Pacer};
use crate::config::model::Model;
use crate::tokens::token::region_of_pool;

/// What a command was told about where to work.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// `--user-pool-id` (or `COGWIRE_USER_POOL_ID`), over `[pool] id`.
    pub user_pool_id: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// The share of each AWS quota this run may use, in (0, 1].
    pub quota_share: f64,
    /// Parameter Store's higher throughput is enabled in the account.
    pub ssm_higher_throughput: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{}", no_pool(environments))]
    NoPool {
        /// The environments services.toml declares, when none was chosen.
        environments: Vec<String>,
    },
    #[error("no AWS region is set")]
    NoRegion,
    #[error("--quota-share must be above 0 and at most 1")]
    QuotaShare,
}

impl SessionError {
    pub fn hint(&self) -> String {
        match self {
            Self::NoPool { environments } if !environments.is_empty() => {
                return format!(
                    "choose one with --env NAME (or COGWIRE_ENV): {}",
                    environments.join(", ")
                );
            }
            Self::NoPool { .. } => {
                "set `[pool] id` in services.toml, pass --user-pool-id, or set COGWIRE_USER_POOL_ID"
            }
            Self::NoRegion => {
                "set `[pool] region` in services.toml, pass --region, or set AWS_REGION"
            }
            Self::QuotaShare => {
                "for example --quota-share 0.5 to leave half of Cognito's quotas to other traffic"
            }
        }
        .to_owned()
    }
}

fn no_pool(environments: &[String]) -> String {
    if environments.is_empty() {
        "no user pool is named".to_owned()
    } else {
        format!(
            "services.toml declares environments ({}) and none is chosen, so no user pool is named",
            environments.join(", ")
        )
    }
}

pub struct Session<C: Cloud = AwsCloud> {
    pub model: Model,
    pub pool_id: String,
    /// The region in force, to name it when the pool is not found there.
    pub region: String,
    pub cloud: C,
    pub pacer: Pacer,
}

impl<C: Cloud> Session<C> {
    pub fn new(model: Model, pool_id: String, region: String, cloud: C, pacer: Pacer) -> Self {
        Self {
            model,
            pool_id,
            region,
            cloud,
            pacer,
        }
    }

    pub fn pool(&self) -> &C::Pool {
        self.cloud.pool()
    }

    pub fn parameters(&self) -> &C::Parameters {
        self.cloud.parameters()
    }

    pub fn store(&self) -> &C::Store {
        self.cloud.store()
    }

    /// The environment of services.toml this session works in, if one was chosen.
    pub fn environment(&self) -> Option<&str> {
        self.model.environment.as_deref()
    }
}

/// The pool id in force: the option, else `[pool] id`.
pub fn pool_id(options: &SessionOptions, model: &Model) -> Result<String, SessionError> {
    options
        .user_pool_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| model.pool.id.clone())
        .ok_or_else(|| SessionError::NoPool {
            environments: if model.environment.is_none() {
                model.environments.clone()
            } else {
                Vec::new()
            },
        })
}

/// The region the module doc's rule picks before the AWS chain is asked.
pub fn declared_region(options: &SessionOptions, model: &Model, pool_id: &str) -> Option<String> {
    options
        .region
        .clone()
        .or_else(|| model.pool.region.clone())
        .or_else(|| region_of_pool(pool_id).map(str::to_owned))
}

/// A session with the real AWS.
pub async fn connect(model: Model, options: &SessionOptions) -> Result<Session, SessionError> {
    if !(options.quota_share > 0.0 && options.quota_share <= 1.0) {
        return Err(SessionError::QuotaShare);
    }
    let pool_id = pool_id(options, &model)?;
    let settings = AwsSettings {
        region: declared_region(options, &model, &pool_id),
        profile: options.profile.clone(),
    };
    let config = load_config(&settings).await;
    let region = config
        .region()
        .map(ToString::to_string)
        .ok_or(SessionError::NoRegion)?;
    let cloud = AwsCloud::new(config, &pool_id, &model.secrets);
    let pacer = Pacer::new(PaceSettings {
        quota_share: options.quota_share,
        ssm_higher_throughput: options.ssm_higher_throughput,
        ..PaceSettings::default()
    });
    tracing::info!("user pool {pool_id} in {region}");
    Ok(Session::new(model, pool_id, region, cloud, pacer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(pool: &str) -> Model {
        crate::config::model::load(
            &format!("{pool}[services.a]\nscopes = {{ r = \"R\" }}\n"),
            None,
        )
        .expect("valid")
    }

    #[test]
    fn the_region_is_the_flag_then_the_file_then_the_pool_id() {
        let options = SessionOptions {
            region: Some("eu-west-1".into()),
            ..SessionOptions::default()
        };
        let file = model("[pool]\nid = \"us-east-1_A\"\nregion = \"eu-central-1\"\n");
        assert_eq!(
            declared_region(&options, &file, "us-east-1_A").as_deref(),
            Some("eu-west-1")
        );
        let no_flag = SessionOptions::default();
        assert_eq!(
            declared_region(&no_flag, &file, "us-east-1_A").as_deref(),
            Some("eu-central-1")
        );
        let bare = model("[pool]\nid = \"us-east-1_A\"\n");
        assert_eq!(
            declared_region(&no_flag, &bare, "us-east-1_A").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(declared_region(&no_flag, &bare, "nounderscore"), None);
    }

    #[test]
    fn the_flag_names_the_pool_before_the_file() {
        let file = model("[pool]\nid = \"us-east-1_File\"\n");
        let options = SessionOptions {
            user_pool_id: Some("us-east-1_Flag".into()),
            ..SessionOptions::default()
        };
        assert_eq!(
            pool_id(&options, &file).ok().as_deref(),
            Some("us-east-1_Flag")
        );
        assert_eq!(
            pool_id(&SessionOptions::default(), &file).ok().as_deref(),
            Some("us-east-1_File")
        );
    }
}
