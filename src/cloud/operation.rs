//! Every AWS operation cogwire calls, as a type: its name for logs and `--stats`, the quotas that
//! pace it, and what a retry of it must do first. A new operation cannot go unpaced, because the
//! match below is exhaustive, and a misspelt one cannot compile.

use serde::Serialize;

/// One AWS API operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Operation {
    // Cognito user pools.
    ListResourceServers,
    CreateResourceServer,
    UpdateResourceServer,
    DeleteResourceServer,
    ListUserPoolClients,
    DescribeUserPoolClient,
    CreateUserPoolClient,
    UpdateUserPoolClient,
    DeleteUserPoolClient,
    ListUserPoolClientSecrets,
    AddUserPoolClientSecret,
    DeleteUserPoolClientSecret,
    // SSM Parameter Store.
    GetParameters,
    GetParametersByPath,
    DescribeParameters,
    PutParameter,
    DeleteParameter,
    AddTagsToResource,
    // Secrets Manager.
    BatchGetSecretValue,
    ListSecrets,
    CreateSecret,
    PutSecretValue,
    RestoreSecret,
    TagResource,
    DeleteSecret,
    // API Gateway HTTP APIs (v2).
    GetAuthorizer,
    UpdateAuthorizer,
    GetRoutes,
    UpdateRoute,
    // API Gateway REST APIs (v1). AWS names the authorizer calls as v2's; the variants differ.
    GetRestAuthorizer,
    UpdateRestAuthorizer,
    GetResources,
    UpdateMethod,
    GetStage,
    CreateDeployment,
    // Cognito again: the pool's ARN, which a REST API's authorizer names.
    DescribeUserPool,
}

/// A shared request budget: AWS throttles the sum of an account's calls in a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Cognito: creating, updating and deleting resource servers.
    UserPoolResourceUpdate,
    /// Cognito: reading resource servers.
    UserPoolResourceRead,
    /// Cognito: reading user pools (DescribeUserPool).
    UserPoolRead,
    /// Cognito: creating, updating and deleting app clients and their secrets.
    UserPoolClientUpdate,
    /// Cognito: reading app clients.
    UserPoolClientRead,
    /// SSM: PutParameter at the standard throughput (the account's default).
    SsmWrite,
    /// SSM: DeleteParameter and AddTagsToResource. Parameter Store's throughput quota (and its
    /// higher-throughput setting) covers GetParameter, GetParameters and PutParameter only; AWS
    /// publishes no rate for these, so they get a budget of their own at the standard write rate.
    SsmManage,
    /// SSM: reads.
    SsmRead,
    /// Secrets Manager: PutSecretValue and its group (RestoreSecret's own quota is as large).
    SecretsManagerPut,
    /// Secrets Manager: CreateSecret.
    SecretsManagerCreate,
    /// Secrets Manager: DeleteSecret.
    SecretsManagerDelete,
    /// Secrets Manager: TagResource and UntagResource.
    SecretsManagerTag,
    /// Secrets Manager: BatchGetSecretValue.
    SecretsManagerBatchRead,
    /// Secrets Manager: ListSecrets.
    SecretsManagerList,
    /// API Gateway's control plane: the account's budget for managing APIs.
    ApiGatewayManagement,
}

/// The AWS service an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Cognito,
    Ssm,
    SecretsManager,
    ApiGateway,
}

/// What must happen before an operation is tried again after a failure whose outcome is unknown
/// (a 5xx, a time-out, a dropped connection: AWS may have acted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Repeating it leaves the same state: retry at once (after the back-off).
    Repeatable,
    /// A repeat could act twice (a second client of one name, a third secret): look whether the
    /// first attempt took effect before trying again.
    LookFirst,
}

/// Requests a second that one operation may make on one user pool.
const COGNITO_PER_OPERATION: f64 = 5.0;

impl Operation {
    /// The name AWS gives it, as CloudTrail shows it; but for the REST API authorizer calls,
    /// which AWS names as the HTTP API ones (GetAuthorizer, UpdateAuthorizer) and which are told
    /// apart here (and in `--stats`) as GetRestAuthorizer and UpdateRestAuthorizer.
    pub fn name(self) -> &'static str {
        match self {
            Self::ListResourceServers => "ListResourceServers",
            Self::CreateResourceServer => "CreateResourceServer",
            Self::UpdateResourceServer => "UpdateResourceServer",
            Self::DeleteResourceServer => "DeleteResourceServer",
            Self::ListUserPoolClients => "ListUserPoolClients",
            Self::DescribeUserPoolClient => "DescribeUserPoolClient",
            Self::CreateUserPoolClient => "CreateUserPoolClient",
            Self::UpdateUserPoolClient => "UpdateUserPoolClient",
            Self::DeleteUserPoolClient => "DeleteUserPoolClient",
            Self::ListUserPoolClientSecrets => "ListUserPoolClientSecrets",
            Self::AddUserPoolClientSecret => "AddUserPoolClientSecret",
            Self::DeleteUserPoolClientSecret => "DeleteUserPoolClientSecret",
            Self::GetParameters => "GetParameters",
            Self::GetParametersByPath => "GetParametersByPath",
            Self::DescribeParameters => "DescribeParameters",
            Self::PutParameter => "PutParameter",
            Self::DeleteParameter => "DeleteParameter",
            Self::AddTagsToResource => "AddTagsToResource",
            Self::BatchGetSecretValue => "BatchGetSecretValue",
            Self::ListSecrets => "ListSecrets",
            Self::CreateSecret => "CreateSecret",
            Self::PutSecretValue => "PutSecretValue",
            Self::RestoreSecret => "RestoreSecret",
            Self::TagResource => "TagResource",
            Self::DeleteSecret => "DeleteSecret",
            Self::GetAuthorizer => "GetAuthorizer",
            Self::UpdateAuthorizer => "UpdateAuthorizer",
            Self::GetRoutes => "GetRoutes",
            Self::UpdateRoute => "UpdateRoute",
            Self::GetRestAuthorizer => "GetRestAuthorizer",
            Self::UpdateRestAuthorizer => "UpdateRestAuthorizer",
            Self::GetResources => "GetResources",
            Self::UpdateMethod => "UpdateMethod",
            Self::GetStage => "GetStage",
            Self::CreateDeployment => "CreateDeployment",
            Self::DescribeUserPool => "DescribeUserPool",
        }
    }

    /// The IAM action that allows it, as a policy names it. API Gateway's control plane is
    /// authorized by HTTP verb on the resource's path (`apigateway:GET` on `/apis/<id>/...`).
    pub fn iam_action(self) -> String {
        let prefix = match self.service() {
            Service::Cognito => "cognito-idp",
            Service::Ssm => "ssm",
            Service::SecretsManager => "secretsmanager",
            Service::ApiGateway => {
                let verb = match self {
                    Self::CreateDeployment => "POST",
                    _ if self.writes() => "PATCH",
                    _ => "GET",
                };
                return format!("apigateway:{verb}");
            }
        };
        format!("{prefix}:{}", self.name())
    }

    pub fn service(self) -> Service {
        match self.category() {
            Category::UserPoolResourceUpdate
            | Category::UserPoolResourceRead
            | Category::UserPoolRead
            | Category::UserPoolClientUpdate
            | Category::UserPoolClientRead => Service::Cognito,
            Category::SsmWrite | Category::SsmManage | Category::SsmRead => Service::Ssm,
            Category::SecretsManagerPut
            | Category::SecretsManagerCreate
            | Category::SecretsManagerDelete
            | Category::SecretsManagerTag
            | Category::SecretsManagerBatchRead
            | Category::SecretsManagerList => Service::SecretsManager,
            Category::ApiGatewayManagement => Service::ApiGateway,
        }
    }

    /// The quota category whose budget the call spends.
    pub fn category(self) -> Category {
        match self {
            Self::CreateResourceServer
            | Self::UpdateResourceServer
            | Self::DeleteResourceServer => Category::UserPoolResourceUpdate,
            Self::ListResourceServers => Category::UserPoolResourceRead,
            Self::DescribeUserPool => Category::UserPoolRead,
            Self::CreateUserPoolClient
            | Self::UpdateUserPoolClient
            | Self::DeleteUserPoolClient
            | Self::AddUserPoolClientSecret
            | Self::DeleteUserPoolClientSecret => Category::UserPoolClientUpdate,
            Self::DescribeUserPoolClient
            | Self::ListUserPoolClients
            | Self::ListUserPoolClientSecrets => Category::UserPoolClientRead,
            Self::PutParameter => Category::SsmWrite,
            Self::DeleteParameter | Self::AddTagsToResource => Category::SsmManage,
            Self::GetParameters | Self::GetParametersByPath | Self::DescribeParameters => {
                Category::SsmRead
            }
            Self::PutSecretValue | Self::RestoreSecret => Category::SecretsManagerPut,
            Self::CreateSecret => Category::SecretsManagerCreate,
            Self::DeleteSecret => Category::SecretsManagerDelete,
            Self::TagResource => Category::SecretsManagerTag,
            Self::BatchGetSecretValue => Category::SecretsManagerBatchRead,
            Self::ListSecrets => Category::SecretsManagerList,
            Self::GetAuthorizer
            | Self::UpdateAuthorizer
            | Self::GetRoutes
            | Self::UpdateRoute
            | Self::GetRestAuthorizer
            | Self::UpdateRestAuthorizer
            | Self::GetResources
            | Self::UpdateMethod
            | Self::GetStage
            | Self::CreateDeployment => Category::ApiGatewayManagement,
        }
    }

    /// It changes something (a read changes nothing, so a crash around it loses nothing).
    pub fn writes(self) -> bool {
        match self {
            Self::GetAuthorizer
            | Self::GetRoutes
            | Self::GetRestAuthorizer
            | Self::GetResources
            | Self::GetStage => return false,
            Self::UpdateAuthorizer
            | Self::UpdateRoute
            | Self::UpdateRestAuthorizer
            | Self::UpdateMethod
            | Self::CreateDeployment => return true,
            _ => {}
        }
        match self.category() {
            Category::UserPoolResourceRead
            | Category::UserPoolRead
            | Category::UserPoolClientRead
            | Category::SsmRead
            | Category::SecretsManagerBatchRead
            | Category::SecretsManagerList => false,
            Category::UserPoolResourceUpdate
            | Category::UserPoolClientUpdate
            | Category::SsmWrite
            | Category::SsmManage
            | Category::SecretsManagerPut
            | Category::SecretsManagerCreate
            | Category::SecretsManagerDelete
            | Category::SecretsManagerTag
            | Category::ApiGatewayManagement => true,
        }
    }

    /// Requests a second this operation alone may make, where AWS limits it apart from its
    /// category: Cognito's per-pool rate of every operation, and the API Gateway operations its
    /// quota table lists with a rate of their own (GetResources 5 every 2 seconds,
    /// CreateDeployment 1 every 5 seconds, per account).
    pub fn own_rate(self) -> Option<f64> {
        match self {
            Self::GetResources => Some(2.5),
            Self::CreateDeployment => Some(0.2),
            _ => (self.service() == Service::Cognito).then_some(COGNITO_PER_OPERATION),
        }
    }

    pub fn retry(self) -> Retry {
        match self {
            Self::CreateUserPoolClient | Self::AddUserPoolClientSecret => Retry::LookFirst,
            _ => Retry::Repeatable,
        }
    }

    /// Every operation, for tests and documentation.
    pub const ALL: [Self; 36] = [
        Self::ListResourceServers,
        Self::CreateResourceServer,
        Self::UpdateResourceServer,
        Self::DeleteResourceServer,
        Self::ListUserPoolClients,
        Self::DescribeUserPoolClient,
        Self::CreateUserPoolClient,
        Self::UpdateUserPoolClient,
        Self::DeleteUserPoolClient,
        Self::ListUserPoolClientSecrets,
        Self::AddUserPoolClientSecret,
        Self::DeleteUserPoolClientSecret,
        Self::GetParameters,
        Self::GetParametersByPath,
        Self::DescribeParameters,
        Self::PutParameter,
        Self::DeleteParameter,
        Self::AddTagsToResource,
        Self::BatchGetSecretValue,
        Self::ListSecrets,
        Self::CreateSecret,
        Self::PutSecretValue,
        Self::RestoreSecret,
        Self::TagResource,
        Self::DeleteSecret,
        Self::GetAuthorizer,
        Self::UpdateAuthorizer,
        Self::GetRoutes,
        Self::UpdateRoute,
        Self::GetRestAuthorizer,
        Self::UpdateRestAuthorizer,
        Self::GetResources,
        Self::UpdateMethod,
        Self::GetStage,
        Self::CreateDeployment,
        Self::DescribeUserPool,
    ];
}

impl std::fmt::Display for Operation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

impl Category {
    /// Requests a second, account-wide, as AWS publishes them.
    pub fn rate(self) -> f64 {
        match self {
            Self::UserPoolResourceUpdate
            | Self::UserPoolClientUpdate
            | Self::UserPoolClientRead
            | Self::UserPoolRead => 15.0,
            Self::UserPoolResourceRead => 20.0,
            // PutParameter's default throughput, the slowest quota cogwire meets.
            Self::SsmWrite | Self::SsmManage => 3.0,
            Self::SsmRead => 40.0,
            Self::SecretsManagerPut
            | Self::SecretsManagerCreate
            | Self::SecretsManagerDelete
            | Self::SecretsManagerTag => 50.0,
            Self::SecretsManagerBatchRead | Self::SecretsManagerList => 100.0,
            // API Gateway's default for management calls it lists no quota of their own for.
            Self::ApiGatewayManagement => 10.0,
        }
    }

    /// The rate in an account whose Parameter Store higher throughput is enabled or not: with it,
    /// PutParameter (and its write group) 10 a second, and the reads 100 (GetParametersByPath's
    /// higher quota, the lowest of the group's; GetParameters alone may go far higher); the rest
    /// as `rate`.
    pub fn rate_with(self, ssm_higher_throughput: bool) -> f64 {
        match self {
            Self::SsmWrite if ssm_higher_throughput => 10.0,
            Self::SsmRead if ssm_higher_throughput => 100.0,
            _ => self.rate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_throughput_raises_only_parameter_store() {
        assert!((Category::SsmWrite.rate_with(false) - 3.0).abs() < f64::EPSILON);
        assert!((Category::SsmWrite.rate_with(true) - 10.0).abs() < f64::EPSILON);
        assert!(Category::SsmRead.rate_with(true) > Category::SsmRead.rate_with(false));
        for category in [
            Category::UserPoolClientRead,
            Category::SecretsManagerPut,
            Category::SecretsManagerBatchRead,
        ] {
            assert!((category.rate_with(true) - category.rate()).abs() < f64::EPSILON);
        }
    }

    #[test]
    fn every_operation_is_named_as_aws_names_it_and_paced() {
        let mut names = std::collections::BTreeSet::new();
        for operation in Operation::ALL {
            assert_eq!(format!("{operation:?}"), operation.name());
            assert!(names.insert(operation.name()), "{operation} twice");
            assert!(operation.category().rate() > 0.0);
        }
    }

    #[test]
    fn only_what_could_act_twice_looks_before_retrying() {
        let look_first: Vec<Operation> = Operation::ALL
            .into_iter()
            .filter(|operation| operation.retry() == Retry::LookFirst)
            .collect();
        assert_eq!(
            look_first,
            [
                Operation::CreateUserPoolClient,
                Operation::AddUserPoolClientSecret
            ]
        );
    }

    #[test]
    fn api_gateway_is_authorized_by_verb_and_paced_by_its_control_plane() {
        assert_eq!(Operation::GetRoutes.iam_action(), "apigateway:GET");
        assert_eq!(Operation::UpdateAuthorizer.iam_action(), "apigateway:PATCH");
        for operation in [Operation::GetAuthorizer, Operation::GetRoutes] {
            assert!(!operation.writes());
        }
        for operation in [Operation::UpdateAuthorizer, Operation::UpdateRoute] {
            assert!(operation.writes());
            assert_eq!(operation.category(), Category::ApiGatewayManagement);
            assert!(operation.own_rate().is_none());
        }
    }

    #[test]
    fn rest_apis_are_authorized_by_verb_and_paced_by_their_own_quotas() {
        assert_eq!(Operation::GetResources.iam_action(), "apigateway:GET");
        assert_eq!(Operation::GetRestAuthorizer.iam_action(), "apigateway:GET");
        assert_eq!(Operation::UpdateMethod.iam_action(), "apigateway:PATCH");
        assert_eq!(
            Operation::UpdateRestAuthorizer.iam_action(),
            "apigateway:PATCH"
        );
        assert_eq!(Operation::CreateDeployment.iam_action(), "apigateway:POST");
        // One deployment every 5 seconds, GetResources 5 every 2 seconds.
        assert_eq!(Operation::CreateDeployment.own_rate(), Some(0.2));
        assert_eq!(Operation::GetResources.own_rate(), Some(2.5));
        assert!(Operation::CreateDeployment.writes() && !Operation::GetResources.writes());
        assert_eq!(
            Operation::DescribeUserPool.iam_action(),
            "cognito-idp:DescribeUserPool"
        );
        assert!(!Operation::DescribeUserPool.writes());
    }

    #[test]
    fn secrets_manager_has_quotas_of_its_own() {
        for operation in Operation::ALL {
            if operation.service() == Service::SecretsManager {
                assert!(operation.own_rate().is_none());
                assert!(operation.category().rate() >= 50.0);
            }
        }
    }
}
