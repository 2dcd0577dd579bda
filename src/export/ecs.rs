//! `--format ecs`: the part of an ECS container definition that gives the service its
//! credentials. ECS reads `secrets` when a task starts, from full ARNs; it picks a JSON key of a
//! Secrets Manager secret (`<arn>:<key>::`) but reads an SSM parameter whole, so an SSM JSON
//! entry is refused rather than written as a fragment that would not work.

use serde_json::{Value, json};

use super::ExportError;
use super::located::ServiceCredentials;
use crate::config::model::{SecretLayout, StoreKind};

pub fn render(credentials: &ServiceCredentials) -> Result<String, ExportError> {
    if credentials.store == StoreKind::Ssm && credentials.layout == SecretLayout::Json {
        return Err(ExportError::EcsNeedsSplit {
            service: credentials.service.clone(),
        });
    }
    let secrets: Vec<Value> = credentials
        .fields
        .iter()
        .map(|field| {
            let arn = &credentials.entries[field.entry].arn;
            let value_from = match field.property {
                // `arn:...:secret:NAME-suffix:json-key:version-stage:version-id`
                Some(property) => format!("{arn}:{property}::"),
                None => arn.clone(),
            };
            json!({"name": field.key, "valueFrom": value_from})
        })
        .collect();
    let environment: Vec<Value> = credentials
        .environment
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let fragment = json!({"secrets": secrets, "environment": environment});
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&fragment).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::located::tests::{ACCOUNT, credentials};

    #[test]
    fn secrets_manager_keys_are_picked_out_of_the_secret_arn() {
        let rendered = render(&credentials(
            "[secrets]\nstore = \"secretsmanager\"",
            "orders",
        ))
        .expect("ecs");
        let fragment: Value = serde_json::from_str(&rendered).expect("json");
        assert_eq!(
            fragment["secrets"][1],
            json!({
                "name": "COGWIRE_CLIENT_SECRET",
                "valueFrom": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/cogwire/orders-AbCdEf:client_secret::")
            })
        );
    }

    #[test]
    fn split_parameters_are_read_whole() {
        let rendered =
            render(&credentials("[secrets]\nlayout = \"split\"", "orders")).expect("ecs");
        let fragment: Value = serde_json::from_str(&rendered).expect("json");
        assert_eq!(
            fragment["secrets"][0]["valueFrom"],
            format!("arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/cogwire/orders/client_id")
        );
    }

    #[test]
    fn an_ssm_json_entry_is_refused_with_a_way_out() {
        let error = render(&credentials("", "orders")).expect_err("refused");
        assert!(error.hint().expect("hint").contains("layout = \"split\""));
    }
}
