//! The API Gateway end of an apply, in two steps around the pool's changes. Before them, routes
//! and methods lose the scopes the plan removes (keeping the rest) and the audience loses the
//! clients that no longer hold a scope, so no route names a scope as its resource server removes
//! it. After them, routes and methods gain scopes that now exist, the audience gains the clients
//! just created, by the ids the creation returned, and a REST API's authorizer gains the pool.
//!
//! A REST API's changes take effect at a deployment: each step that changes one deploys it to its
//! `stage` (when given). A marker in Parameter Store is set before the step's first write and
//! cleared after the deployment, so a run that dies in between leaves the next plan a deployment
//! to make.

use std::collections::BTreeMap;

use crate::cloud::gateway::{HttpApis, RouteAuthorization};
use crate::cloud::gateway_rest::{MethodAuthorization, RestApis};
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{Cloud, CloudError, Parameters, UserPool};
use crate::config::namespace::deployment_name;
use crate::plan::gateway::GatewayChange;
use crate::plan::gateway::rest::RestChange;

/// Sets the authorizer's issuer and audience: the one UpdateAuthorizer call of both steps.
async fn update_authorizer<G: HttpApis>(
    change: &GatewayChange,
    issuer: &str,
    audience: &[String],
    gateway: &G,
    pacer: &Pacer,
) -> Result<(), CloudError> {
    pacer
        .call(Operation::UpdateAuthorizer, || {
            gateway.update_authorizer(&change.api_id, &change.authorizer_id, issuer, audience)
        })
        .await
}

/// Sets a route's authorizer and scopes: the one UpdateRoute call of both steps.
async fn update_route<G: HttpApis>(
    change: &GatewayChange,
    route_id: &str,
    authorization: &RouteAuthorization,
    gateway: &G,
    pacer: &Pacer,
) -> Result<(), CloudError> {
    pacer
        .call(Operation::UpdateRoute, || {
            gateway.update_route(&change.api_id, route_id, authorization)
        })
        .await
}

/// Narrows before the pool changes; returns the writes made.
pub async fn before_pool<C: Cloud>(
    changes: &[GatewayChange],
    cloud: &C,
    pacer: &Pacer,
) -> Result<usize, CloudError> {
    let gateway = cloud.gateway();
    let mut writes = 0;
    for change in changes {
        if let Some(rest) = &change.rest {
            writes += rest_step(change, rest, false, cloud, pacer).await?;
            continue;
        }
        for route in &change.routes {
            if let Some(scopes) = route.narrowed() {
                let authorization = RouteAuthorization {
                    authorizer_id: change.authorizer_id.clone(),
                    scopes,
                };
                update_route(change, &route.route_id, &authorization, gateway, pacer).await?;
                writes += 1;
                tracing::info!(
                    "narrowed route {} of HTTP API {}",
                    route.route_key,
                    change.api_id
                );
            }
        }
        if let Some(authorizer) = &change.authorizer
            && let Some(audience) = authorizer.audience_narrowed()
        {
            update_authorizer(change, &authorizer.issuer_after, &audience, gateway, pacer).await?;
            writes += 1;
            tracing::info!(
                "removed {} clients from the audience of authorizer {}",
                authorizer.remove.len(),
                change.authorizer_id
            );
        }
    }
    Ok(writes)
}

/// Brings each authorizer, route and method to the plan's state once the pool has changed;
/// `created` maps each service whose client this run created to the new client's id.
pub async fn after_pool<C: Cloud>(
    changes: &[GatewayChange],
    created: &BTreeMap<String, String>,
    cloud: &C,
    pacer: &Pacer,
) -> Result<usize, CloudError> {
    let gateway = cloud.gateway();
    let mut writes = 0;
    for change in changes {
        if let Some(rest) = &change.rest {
            writes += rest_step(change, rest, true, cloud, pacer).await?;
            continue;
        }
        if let Some(authorizer) = &change.authorizer {
            let audience = authorizer.audience_after(created);
            let done_before = authorizer.issuer_before.as_deref()
                == Some(authorizer.issuer_after.as_str())
                && authorizer.audience_narrowed().as_ref() == Some(&audience);
            if !done_before && !audience.is_empty() {
                update_authorizer(change, &authorizer.issuer_after, &audience, gateway, pacer)
                    .await?;
                writes += 1;
                tracing::info!(
                    "updated authorizer {} of HTTP API {}",
                    change.authorizer_id,
                    change.api_id
                );
            }
        }
        for route in &change.routes {
            let done_before = route.narrowed().as_ref() == Some(&route.scopes_after)
                && route.authorizer_before.as_deref() == Some(change.authorizer_id.as_str());
            if done_before {
                continue;
            }
            let authorization = RouteAuthorization {
                authorizer_id: change.authorizer_id.clone(),
                scopes: route.scopes_after.clone(),
            };
            update_route(change, &route.route_id, &authorization, gateway, pacer).await?;
            writes += 1;
            tracing::info!(
                "updated route {} of HTTP API {}",
                route.route_key,
                change.api_id
            );
        }
    }
    Ok(writes)
}

/// One step on a REST API: the pool among the authorizer's providers (after the pool's changes
/// only), the method patches, then a deployment to the stage when anything was written (or an
/// earlier run left one due), between the marker's setting and clearing. Returns the writes.
async fn rest_step<C: Cloud>(
    change: &GatewayChange,
    rest: &RestChange,
    after: bool,
    cloud: &C,
    pacer: &Pacer,
) -> Result<usize, CloudError> {
    // Before the pool: only what narrows; after it: the rest.
    let patches: Vec<(&str, &str, MethodAuthorization)> = rest
        .methods
        .iter()
        .filter_map(|method| {
            let patch = if after {
                method.completion(&change.authorizer_id)
            } else {
                method.narrowing(&change.authorizer_id)
            };
            patch.map(|patch| {
                (
                    method.resource_id.as_str(),
                    method.http_method.as_str(),
                    patch,
                )
            })
        })
        .collect();
    let add_provider = after && rest.add_provider;
    let finish_pending = after && rest.deployment_pending;
    if !add_provider && patches.is_empty() && !finish_pending {
        return Ok(0);
    }
    let api = cloud.rest_gateway();
    let marker = rest
        .stage
        .as_ref()
        .map(|_| deployment_name(cloud.pool().pool_id(), &change.api_id));
    let mut writes = 0;
    if let Some(marker) = &marker
        && (add_provider || !patches.is_empty())
    {
        pacer
            .call(Operation::PutParameter, || {
                cloud.parameters().put(marker, &change.service, true)
            })
            .await?;
    }
    if add_provider {
        pacer
            .call(Operation::UpdateRestAuthorizer, || {
                api.add_provider(&change.api_id, &change.authorizer_id, &rest.pool_arn)
            })
            .await?;
        writes += 1;
        tracing::info!(
            "added user pool {} to authorizer {} of REST API {}",
            rest.pool_arn,
            change.authorizer_id,
            change.api_id
        );
    }
    for (resource_id, http_method, patch) in &patches {
        pacer
            .call(Operation::UpdateMethod, || {
                api.update_method(&change.api_id, resource_id, http_method, patch)
            })
            .await?;
        writes += 1;
        tracing::info!(
            "updated method {http_method} of resource {resource_id} of REST API {}",
            change.api_id
        );
    }
    if let (Some(stage), Some(marker)) = (&rest.stage, &marker) {
        let description = format!(
            "cogwire: authorization of service `{}`'s methods",
            change.service
        );
        let deployment = pacer
            .call(Operation::CreateDeployment, || {
                api.create_deployment(&change.api_id, stage, &description)
            })
            .await?;
        writes += 1;
        tracing::info!(
            "deployed REST API {} to stage {stage} (deployment {deployment})",
            change.api_id
        );
        pacer
            .call(Operation::DeleteParameter, || {
                cloud.parameters().delete(marker)
            })
            .await?;
    }
    Ok(writes)
}
