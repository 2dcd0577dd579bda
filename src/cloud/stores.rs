//! Where services read their credentials: SSM Parameter Store or Secrets Manager, behind one
//! narrow trait so the sync engine is the same for both. Each method is one AWS call (a listing
//! follows its pages), so the engine paces and retries every call through its `Pacer` under the
//! operation name the store reports.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use aws_sdk_secretsmanager as secretsmanager;
use aws_sdk_ssm as ssm;

use super::aws::classify;
use super::{CloudError, CloudResult, Page};
use crate::cloud::operation::Operation;
use crate::sensitive::Secret;

/// The tag that marks an entry as cogwire's: only entries carrying it are ever deleted.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "cogwire");
/// The service an entry holds the credentials of.
pub const SERVICE_TAG: &str = "cogwire:service";
/// The user pool whose client the entry holds, so that two pools sharing a path template in one
/// account never delete each other's entries.
pub const POOL_TAG: &str = "cogwire:user-pool";

pub use crate::config::model::EntryKind;

/// What kind of entry a name holds now, as the store tells it: what a reader of the entry gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredKind {
    /// An SSM `String` parameter.
    String,
    /// An SSM `StringList` parameter.
    StringList,
    /// An SSM `SecureString` parameter.
    SecureString,
    /// A Secrets Manager secret holding a string.
    Secret,
    /// A Secrets Manager secret holding binary data.
    BinarySecret,
}

impl StoredKind {
    /// Whether writing an entry of `kind` here leaves readers getting the same kind of entry:
    /// SSM would turn a `String` into a `SecureString` (or back) on overwrite, and a binary
    /// secret's readers would find a string.
    pub fn holds(self, kind: EntryKind) -> bool {
        matches!(
            (self, kind),
            (Self::String, EntryKind::Plain)
                | (Self::SecureString, EntryKind::Secure)
                | (Self::Secret, _)
        )
    }

    /// What cogwire writes for `kind` in a store that holds entries like `self`.
    pub fn written_as(self, kind: EntryKind) -> Self {
        match (self, kind) {
            (Self::Secret | Self::BinarySecret, _) => Self::Secret,
            (_, EntryKind::Plain) => Self::String,
            (_, EntryKind::Secure) => Self::SecureString,
        }
    }
}

impl std::fmt::Display for StoredKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::String => "String parameter",
            Self::StringList => "StringList parameter",
            Self::SecureString => "SecureString parameter",
            Self::Secret => "Secrets Manager secret",
            Self::BinarySecret => "binary Secrets Manager secret",
        })
    }
}

/// An entry as the store holds it: its value (empty for binary data, which cogwire never reads)
/// and its kind.
#[derive(Debug, Clone)]
pub struct Stored {
    pub value: Secret,
    pub kind: StoredKind,
}

/// One value to store under one name.
#[derive(Debug, Clone, Copy)]
pub struct EntryWrite<'a> {
    pub name: &'a str,
    pub value: &'a Secret,
    pub kind: EntryKind,
}

/// The AWS operation behind each store method, for pacing, retries and `--stats`.
#[derive(Debug, Clone, Copy)]
pub struct StoreOperations {
    pub read: Operation,
    /// At most this many names a `read`.
    pub read_batch: usize,
    pub list: Operation,
    pub create: Operation,
    /// `create` sets the tags itself; otherwise the engine calls `tag` after it.
    pub create_tags: bool,
    pub update: Operation,
    pub tag: Operation,
    pub delete: Operation,
}

/// Where an entry lives, as the store tells it without reading its value: what a runtime's
/// policy and references need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub arn: String,
    pub kind: StoredKind,
    /// The KMS key the store says encrypts it, as the store names it; `None` for the AWS
    /// managed key or a plain String.
    pub kms_key_id: Option<String>,
}

pub trait SecretStore: Send + Sync + 'static {
    fn operations(&self) -> StoreOperations;
    /// The entries of `names` that exist, with their ARNs: one metadata call (DescribeParameters
    /// or ListSecrets), never a value. The operation it spends, for pacing.
    fn locate_operation(&self) -> Operation {
        Operation::DescribeParameters
    }
    /// See `locate_operation`; at most 10 names a call.
    fn locate(
        &self,
        names: &[String],
    ) -> impl Future<Output = CloudResult<BTreeMap<String, Located>>> + Send {
        let _ = names;
        async {
            Err(CloudError::Rejected {
                operation: Operation::DescribeParameters,
                code: "Unsupported".to_owned(),
                message: "this store does not tell where its entries live".to_owned(),
            })
        }
    }
    /// One page of every entry under `path`, at any depth, with its value and kind: what
    /// `import --find-secrets` searches (one GetParametersByPath, decrypting). `next_token`
    /// continues a listing.
    fn read_under_page(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> impl Future<Output = CloudResult<Page<(String, Stored)>>> + Send {
        let _ = (path, next_token);
        async {
            Err(CloudError::Rejected {
                operation: Operation::GetParametersByPath,
                code: "Unsupported".to_owned(),
                message: "only SSM Parameter Store can be searched for existing entries".to_owned(),
            })
        }
    }
    /// The names that exist, with their values and kinds (at most `read_batch` names). Every
    /// name that exists is returned, whatever it holds, so that none is taken for free.
    fn read(
        &self,
        names: &[String],
    ) -> impl Future<Output = CloudResult<BTreeMap<String, Stored>>> + Send;
    /// Names under `path` tagged `managed-by=cogwire` and `cogwire:user-pool=<pool_id>`.
    fn list_managed(
        &self,
        path: &str,
        pool_id: &str,
    ) -> impl Future<Output = CloudResult<BTreeSet<String>>> + Send;
    /// Creates a new entry; fails with `AlreadyExists` if the name is taken.
    fn create(
        &self,
        entry: EntryWrite<'_>,
        tags: &[(String, String)],
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// Replaces the value of an existing entry.
    fn update(&self, entry: EntryWrite<'_>) -> impl Future<Output = CloudResult<()>> + Send;
    fn tag(
        &self,
        name: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// Deleting a name that does not exist is not an error.
    fn delete(&self, name: &str) -> impl Future<Output = CloudResult<()>> + Send;
}

/// SSM Parameter Store: SecureStrings (and a plain String for a split layout's client id).
#[derive(Debug, Clone)]
pub struct AwsSsmStore {
    client: ssm::Client,
    kms_key_id: Option<String>,
}

impl AwsSsmStore {
    pub fn new(config: &aws_config::SdkConfig, kms_key_id: Option<String>) -> Self {
        Self {
            client: ssm::Client::new(config),
            kms_key_id,
        }
    }

    /// Tags go with a create (SSM refuses them beside Overwrite), saving an AddTagsToResource
    /// call on the slowest SSM quota.
    async fn put(
        &self,
        entry: EntryWrite<'_>,
        overwrite: bool,
        tags: &[(String, String)],
    ) -> CloudResult<()> {
        const OPERATION: Operation = Operation::PutParameter;
        let tags = if overwrite || tags.is_empty() {
            None
        } else {
            Some(
                tags.iter()
                    .map(|(key, value)| {
                        built(
                            OPERATION,
                            ssm::types::Tag::builder().key(key).value(value).build(),
                        )
                    })
                    .collect::<CloudResult<Vec<_>>>()?,
            )
        };
        let (kind, key) = match entry.kind {
            EntryKind::Plain => (ssm::types::ParameterType::String, None),
            EntryKind::Secure => (
                ssm::types::ParameterType::SecureString,
                self.kms_key_id.clone(),
            ),
        };
        self.client
            .put_parameter()
            .name(entry.name)
            .value(entry.value.expose())
            .r#type(kind)
            .set_key_id(key)
            .set_tags(tags)
            .overwrite(overwrite)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }
}

/// A parameter as the store tells it: its name, value and kind.
fn named_stored(parameter: &ssm::types::Parameter) -> Option<(String, Stored)> {
    let kind = parameter_kind(parameter.r#type());
    let value = Secret::new(parameter.value().unwrap_or_default());
    Some((parameter.name()?.to_owned(), Stored { value, kind }))
}

/// What a reader of a parameter of this type gets.
fn parameter_kind(parameter_type: Option<&ssm::types::ParameterType>) -> StoredKind {
    match parameter_type {
        Some(ssm::types::ParameterType::SecureString) => StoredKind::SecureString,
        Some(ssm::types::ParameterType::StringList) => StoredKind::StringList,
        _ => StoredKind::String,
    }
}

fn built<T, E: std::fmt::Display>(operation: Operation, result: Result<T, E>) -> CloudResult<T> {
    result.map_err(|error| CloudError::Rejected {
        operation,
        code: "InvalidRequest".to_owned(),
        message: error.to_string(),
    })
}

impl SecretStore for AwsSsmStore {
    fn operations(&self) -> StoreOperations {
        StoreOperations {
            read: Operation::GetParameters,
            read_batch: 10,
            list: Operation::GetParametersByPath,
            create: Operation::PutParameter,
            create_tags: true,
            update: Operation::PutParameter,
            tag: Operation::AddTagsToResource,
            delete: Operation::DeleteParameter,
        }
    }

    async fn read(&self, names: &[String]) -> CloudResult<BTreeMap<String, Stored>> {
        const OPERATION: Operation = Operation::GetParameters;
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let output = self
            .client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(output
            .parameters()
            .iter()
            .filter_map(named_stored)
            .collect())
    }

    async fn locate(&self, names: &[String]) -> CloudResult<BTreeMap<String, Located>> {
        const OPERATION: Operation = Operation::DescribeParameters;
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let filter = built(
            OPERATION,
            ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(names.to_vec()))
                .build(),
        )?;
        let mut located = BTreeMap::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_parameters()
                .parameter_filters(filter.clone())
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify(OPERATION, error))?;
            for parameter in page.parameters() {
                let (Some(name), Some(arn)) = (parameter.name(), parameter.arn()) else {
                    continue;
                };
                let kind = parameter_kind(parameter.r#type());
                let kms_key_id = (kind == StoredKind::SecureString)
                    .then(|| parameter.key_id().map(str::to_owned))
                    .flatten();
                located.insert(
                    name.to_owned(),
                    Located {
                        arn: arn.to_owned(),
                        kind,
                        kms_key_id,
                    },
                );
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(located),
            }
        }
    }

    async fn read_under_page(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> CloudResult<Page<(String, Stored)>> {
        const OPERATION: Operation = Operation::GetParametersByPath;
        let page = self
            .client
            .get_parameters_by_path()
            .path(path)
            .recursive(true)
            .with_decryption(true)
            .max_results(10)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        let items = page.parameters().iter().filter_map(named_stored).collect();
        Ok(Page {
            items,
            next_token: page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
        })
    }

    async fn list_managed(&self, path: &str, pool_id: &str) -> CloudResult<BTreeSet<String>> {
        const OPERATION: Operation = Operation::GetParametersByPath;
        let filter = |key: String, value: &str| {
            built(
                OPERATION,
                ssm::types::ParameterStringFilter::builder()
                    .key(key)
                    .option("Equals")
                    .values(value)
                    .build(),
            )
        };
        let filters = vec![
            filter(format!("tag:{}", MANAGED_BY.0), MANAGED_BY.1)?,
            filter(format!("tag:{POOL_TAG}"), pool_id)?,
        ];
        let mut names = BTreeSet::new();
        let mut next_token: Option<String> = None;
        loop {
            // Values are not needed to find entries, so none are decrypted.
            let page = self
                .client
                .get_parameters_by_path()
                .path(path)
                .recursive(true)
                .with_decryption(false)
                .set_parameter_filters(Some(filters.clone()))
                .max_results(10)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify(OPERATION, error))?;
            names.extend(
                page.parameters()
                    .iter()
                    .filter_map(|parameter| parameter.name().map(str::to_owned)),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(names),
            }
        }
    }

    /// SSM refuses tags together with `Overwrite`, so the engine tags a new parameter after
    /// creating it.
    async fn create(&self, entry: EntryWrite<'_>, tags: &[(String, String)]) -> CloudResult<()> {
        self.put(entry, false, tags).await
    }

    async fn update(&self, entry: EntryWrite<'_>) -> CloudResult<()> {
        self.put(entry, true, &[]).await
    }

    async fn tag(&self, name: &str, tags: &[(String, String)]) -> CloudResult<()> {
        const OPERATION: Operation = Operation::AddTagsToResource;
        let tags = tags
            .iter()
            .map(|(key, value)| {
                built(
                    OPERATION,
                    ssm::types::Tag::builder().key(key).value(value).build(),
                )
            })
            .collect::<CloudResult<Vec<_>>>()?;
        self.client
            .add_tags_to_resource()
            .resource_type(ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteParameter;
        match self.client.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(error) => match classify(OPERATION, error) {
                CloudError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// Secrets Manager: one secret a name, its value a string.
#[derive(Debug, Clone)]
pub struct AwsSecretsManagerStore {
    client: secretsmanager::Client,
    kms_key_id: Option<String>,
}

impl AwsSecretsManagerStore {
    pub fn new(config: &aws_config::SdkConfig, kms_key_id: Option<String>) -> Self {
        Self {
            client: secretsmanager::Client::new(config),
            kms_key_id,
        }
    }

    /// Whether the secret `name`, scheduled for deletion, carries the cogwire tags among `tags`
    /// (those of its pool): only such a secret is cogwire's to restore.
    async fn deleted_is_ours(&self, name: &str, tags: &[(String, String)]) -> CloudResult<bool> {
        use secretsmanager::types::{Filter, FilterNameStringType};
        let pool = tags
            .iter()
            .find(|(key, _)| key == POOL_TAG)
            .map(|(_, value)| value.as_str());
        let listed = self
            .client
            .list_secrets()
            .include_planned_deletion(true)
            .filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(name)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| classify(Operation::ListSecrets, error))?;
        let tagged = |secret: &secretsmanager::types::SecretListEntry, key: &str, value: &str| {
            secret
                .tags()
                .iter()
                .any(|tag| tag.key() == Some(key) && tag.value() == Some(value))
        };
        Ok(listed
            .secret_list()
            .iter()
            .filter(|secret| secret.name() == Some(name))
            .any(|secret| {
                tagged(secret, MANAGED_BY.0, MANAGED_BY.1)
                    && pool.is_some_and(|pool| tagged(secret, POOL_TAG, pool))
            }))
    }
}

/// Days a deleted secret can still be restored; the shortest Secrets Manager allows.
const RECOVERY_WINDOW_DAYS: i64 = 7;

fn manager_tags(tags: &[(String, String)]) -> Vec<secretsmanager::types::Tag> {
    tags.iter()
        .map(|(key, value)| {
            secretsmanager::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        })
        .collect()
}

impl SecretStore for AwsSecretsManagerStore {
    fn operations(&self) -> StoreOperations {
        StoreOperations {
            read: Operation::BatchGetSecretValue,
            read_batch: 20,
            list: Operation::ListSecrets,
            create: Operation::CreateSecret,
            create_tags: true,
            update: Operation::PutSecretValue,
            tag: Operation::TagResource,
            delete: Operation::DeleteSecret,
        }
    }

    async fn read(&self, names: &[String]) -> CloudResult<BTreeMap<String, Stored>> {
        const OPERATION: Operation = Operation::BatchGetSecretValue;
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let output = self
            .client
            .batch_get_secret_value()
            .set_secret_id_list(Some(names.to_vec()))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        for error in output.errors() {
            match error.error_code() {
                // Missing, or scheduled for deletion: either way there is no current value.
                Some("ResourceNotFoundException" | "InvalidRequestException") => {}
                code => {
                    return Err(CloudError::Rejected {
                        operation: OPERATION,
                        code: code.unwrap_or("Unknown").to_owned(),
                        message: format!(
                            "{}: {}",
                            error.secret_id().unwrap_or_default(),
                            error.message().unwrap_or_default()
                        ),
                    });
                }
            }
        }
        Ok(output
            .secret_values()
            .iter()
            .filter_map(|entry| {
                let stored = match entry.secret_string() {
                    Some(text) => Stored {
                        value: Secret::new(text),
                        kind: StoredKind::Secret,
                    },
                    None => Stored {
                        value: Secret::new(""),
                        kind: StoredKind::BinarySecret,
                    },
                };
                Some((entry.name()?.to_owned(), stored))
            })
            .collect())
    }

    fn locate_operation(&self) -> Operation {
        Operation::ListSecrets
    }

    async fn locate(&self, names: &[String]) -> CloudResult<BTreeMap<String, Located>> {
        const OPERATION: Operation = Operation::ListSecrets;
        use secretsmanager::types::{Filter, FilterNameStringType};
        if names.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut located = BTreeMap::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_secrets()
                .filters(
                    Filter::builder()
                        .key(FilterNameStringType::Name)
                        .set_values(Some(names.to_vec()))
                        .build(),
                )
                .max_results(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify(OPERATION, error))?;
            // The filter matches name prefixes; only exact names are kept.
            for secret in page.secret_list() {
                let (Some(name), Some(arn)) = (secret.name(), secret.arn()) else {
                    continue;
                };
                if secret.deleted_date().is_some() || !names.iter().any(|wanted| wanted == name) {
                    continue;
                }
                located.insert(
                    name.to_owned(),
                    Located {
                        arn: arn.to_owned(),
                        kind: StoredKind::Secret,
                        kms_key_id: secret.kms_key_id().map(str::to_owned),
                    },
                );
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(located),
            }
        }
    }

    async fn list_managed(&self, path: &str, pool_id: &str) -> CloudResult<BTreeSet<String>> {
        const OPERATION: Operation = Operation::ListSecrets;
        use secretsmanager::types::{Filter, FilterNameStringType};
        let mut names = BTreeSet::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_secrets()
                .filters(
                    Filter::builder()
                        .key(FilterNameStringType::TagKey)
                        .values(MANAGED_BY.0)
                        .build(),
                )
                .filters(
                    Filter::builder()
                        .key(FilterNameStringType::TagKey)
                        .values(POOL_TAG)
                        .build(),
                )
                .max_results(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify(OPERATION, error))?;
            // The filters match keys and values separately; the exact tags are checked here.
            names.extend(page.secret_list().iter().filter_map(|secret| {
                let tagged = |key: &str, value: &str| {
                    secret
                        .tags()
                        .iter()
                        .any(|tag| tag.key() == Some(key) && tag.value() == Some(value))
                };
                let name = secret.name()?;
                (name.starts_with(path)
                    && tagged(MANAGED_BY.0, MANAGED_BY.1)
                    && tagged(POOL_TAG, pool_id))
                .then(|| name.to_owned())
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(names),
            }
        }
    }

    /// A secret cogwire deleted earlier is only scheduled for deletion, and its name stays taken
    /// until then: such a secret is restored and given the new value.
    async fn create(&self, entry: EntryWrite<'_>, tags: &[(String, String)]) -> CloudResult<()> {
        const OPERATION: Operation = Operation::CreateSecret;
        let created = self
            .client
            .create_secret()
            .name(entry.name)
            .secret_string(entry.value.expose())
            .set_kms_key_id(self.kms_key_id.clone())
            .set_tags(Some(manager_tags(tags)))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error));
        match created {
            Err(CloudError::Rejected { code, .. }) if code == "InvalidRequestException" => {
                if !self.deleted_is_ours(entry.name, tags).await? {
                    return Err(CloudError::Rejected {
                        operation: Operation::RestoreSecret,
                        code: "NotCogwires".to_owned(),
                        message: format!(
                            "{name} is scheduled for deletion and cogwire did not write it, so it is not restored; delete it for good (aws secretsmanager delete-secret --force-delete-without-recovery --secret-id {name}), or restore it and run `cogwire sync-secrets --adopt` for its service",
                            name = entry.name
                        ),
                    });
                }
                self.client
                    .restore_secret()
                    .secret_id(entry.name)
                    .send()
                    .await
                    .map_err(|error| classify(Operation::RestoreSecret, error))?;
                self.update(entry).await?;
                self.tag(entry.name, tags).await
            }
            other => other.map(|_| ()),
        }
    }

    async fn update(&self, entry: EntryWrite<'_>) -> CloudResult<()> {
        const OPERATION: Operation = Operation::PutSecretValue;
        self.client
            .put_secret_value()
            .secret_id(entry.name)
            .secret_string(entry.value.expose())
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn tag(&self, name: &str, tags: &[(String, String)]) -> CloudResult<()> {
        const OPERATION: Operation = Operation::TagResource;
        self.client
            .tag_resource()
            .secret_id(name)
            .set_tags(Some(manager_tags(tags)))
            .send()
            .await
            .map_err(|error| classify(OPERATION, error))?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        const OPERATION: Operation = Operation::DeleteSecret;
        match self
            .client
            .delete_secret()
            .secret_id(name)
            .recovery_window_in_days(RECOVERY_WINDOW_DAYS)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => match classify(OPERATION, error) {
                CloudError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// The store `[secrets] store` names, chosen once per run: the engines see one `SecretStore`.
#[derive(Debug, Clone)]
pub enum AwsStore {
    Ssm(AwsSsmStore),
    SecretsManager(AwsSecretsManagerStore),
}

impl AwsStore {
    pub fn new(
        config: &aws_config::SdkConfig,
        kind: crate::config::model::StoreKind,
        kms_key_id: Option<String>,
    ) -> Self {
        match kind {
            crate::config::model::StoreKind::Ssm => Self::Ssm(AwsSsmStore::new(config, kms_key_id)),
            crate::config::model::StoreKind::SecretsManager => {
                Self::SecretsManager(AwsSecretsManagerStore::new(config, kms_key_id))
            }
        }
    }
}

impl SecretStore for AwsStore {
    fn operations(&self) -> StoreOperations {
        match self {
            Self::Ssm(store) => store.operations(),
            Self::SecretsManager(store) => store.operations(),
        }
    }

    async fn read(&self, names: &[String]) -> CloudResult<BTreeMap<String, Stored>> {
        match self {
            Self::Ssm(store) => store.read(names).await,
            Self::SecretsManager(store) => store.read(names).await,
        }
    }

    fn locate_operation(&self) -> Operation {
        match self {
            Self::Ssm(store) => store.locate_operation(),
            Self::SecretsManager(store) => store.locate_operation(),
        }
    }

    async fn locate(&self, names: &[String]) -> CloudResult<BTreeMap<String, Located>> {
        match self {
            Self::Ssm(store) => store.locate(names).await,
            Self::SecretsManager(store) => store.locate(names).await,
        }
    }

    async fn read_under_page(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> CloudResult<Page<(String, Stored)>> {
        match self {
            Self::Ssm(store) => store.read_under_page(path, next_token).await,
            Self::SecretsManager(store) => store.read_under_page(path, next_token).await,
        }
    }

    async fn list_managed(&self, path: &str, pool_id: &str) -> CloudResult<BTreeSet<String>> {
        match self {
            Self::Ssm(store) => store.list_managed(path, pool_id).await,
            Self::SecretsManager(store) => store.list_managed(path, pool_id).await,
        }
    }

    async fn create(&self, entry: EntryWrite<'_>, tags: &[(String, String)]) -> CloudResult<()> {
        match self {
            Self::Ssm(store) => store.create(entry, tags).await,
            Self::SecretsManager(store) => store.create(entry, tags).await,
        }
    }

    async fn update(&self, entry: EntryWrite<'_>) -> CloudResult<()> {
        match self {
            Self::Ssm(store) => store.update(entry).await,
            Self::SecretsManager(store) => store.update(entry).await,
        }
    }

    async fn tag(&self, name: &str, tags: &[(String, String)]) -> CloudResult<()> {
        match self {
            Self::Ssm(store) => store.tag(name, tags).await,
            Self::SecretsManager(store) => store.tag(name, tags).await,
        }
    }

    async fn delete(&self, name: &str) -> CloudResult<()> {
        match self {
            Self::Ssm(store) => store.delete(name).await,
            Self::SecretsManager(store) => store.delete(name).await,
        }
    }
}
