//! The API Gateway end of an apply, in two steps around the pool's changes. Before them, routes
//! lose the scopes the plan removes (keeping the rest) and the audience loses the clients that no
//! longer hold a scope, so no route names a scope as its resource server removes it. After them,
//! routes gain scopes that now exist and the audience gains the clients just created, by the ids
//! the creation returned.

use std::collections::BTreeMap;

use crate::cloud::CloudError;
use crate::cloud::gateway::{HttpApis, RouteAuthorization};
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::plan::gateway::GatewayChange;

/// Narrows before the pool changes; returns the writes made.
pub async fn before_pool<G: HttpApis>(
    changes: &[GatewayChange],
    gateway: &G,
    pacer: &Pacer,
) -> Result<usize, CloudError> {
    let mut writes = 0;
    for change in changes {
        for route in &change.routes {
            if let Some(scopes) = route.narrowed() {
                let authorization = RouteAuthorization {
                    authorizer_id: change.authorizer_id.clone(),
                    scopes,
                };
                pacer
                    .call(Operation::UpdateRoute, || {
                        gateway.update_route(&change.api_id, &route.route_id, &authorization)
                    })
                    .await?;
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
            pacer
                .call(Operation::UpdateAuthorizer, || {
                    gateway.update_authorizer(
                        &change.api_id,
                        &change.authorizer_id,
                        &authorizer.issuer_after,
                        &audience,
                    )
                })
                .await?;
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

/// Brings each authorizer and route to the plan's state once the pool has changed; `created` maps
/// each service whose client this run created to the new client's id.
pub async fn after_pool<G: HttpApis>(
    changes: &[GatewayChange],
    created: &BTreeMap<String, String>,
    gateway: &G,
    pacer: &Pacer,
) -> Result<usize, CloudError> {
    let mut writes = 0;
    for change in changes {
        if let Some(authorizer) = &change.authorizer {
            let audience = authorizer.audience_after(created);
            let done_before = authorizer.issuer_before.as_deref()
                == Some(authorizer.issuer_after.as_str())
                && authorizer.audience_narrowed().as_ref() == Some(&audience);
            if !done_before && !audience.is_empty() {
                pacer
                    .call(Operation::UpdateAuthorizer, || {
                        gateway.update_authorizer(
                            &change.api_id,
                            &change.authorizer_id,
                            &authorizer.issuer_after,
                            &audience,
                        )
                    })
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
            pacer
                .call(Operation::UpdateRoute, || {
                    gateway.update_route(&change.api_id, &route.route_id, &authorization)
                })
                .await?;
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
