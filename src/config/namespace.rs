//! The SSM names cogwire keeps for itself, under `/cogwire/<pool-id>/`: its ownership record, its
//! apply lock and the secret fingerprints of rotation. `validate` refuses a secrets path that could
//! reach them; `apply` and `rotate-secret` write there (see `apply::record` for the layout).

pub fn prefix(pool_id: &str) -> String {
    format!("/cogwire/{pool_id}")
}

pub fn state_name(pool_id: &str) -> String {
    format!("{}/state", prefix(pool_id))
}

pub fn lock_name(pool_id: &str) -> String {
    format!("{}/lock", prefix(pool_id))
}

/// Set while a REST API's methods changed and their deployment to the stage is not yet made: a
/// run that dies in between leaves it, and the next plan deploys.
pub fn deployment_name(pool_id: &str, api_id: &str) -> String {
    format!("{}/deploy/{api_id}", prefix(pool_id))
}

pub fn fingerprints_name(pool_id: &str, client_id: &str) -> String {
    format!("{}/secrets/{client_id}", prefix(pool_id))
}

/// Which of cogwire's own parameters an SSM name is, or would overwrite: anything named
/// `/cogwire/<pool-id>` or below it is cogwire's, not only the names in use today (the lock's
/// takeover claims are `lock-takeover-…`, and a later cogwire may add more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// `/cogwire/<pool-id>` itself.
    Prefix,
    /// `state`, the record's pointer.
    Record,
    /// `state/<slot>/<n>`.
    RecordChunk,
    /// `lock`, and its takeover claims `lock-…`.
    Lock,
    /// `secrets/<client-id>`.
    Fingerprints,
    /// Any other name below the prefix.
    Other,
}

impl Reserved {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Prefix => "the prefix of cogwire's own parameters",
            Self::Record => "cogwire's ownership record",
            Self::RecordChunk => "a chunk of cogwire's ownership record",
            Self::Lock => "cogwire's apply lock",
            Self::Fingerprints => "the secret fingerprints cogwire keeps for a client",
            Self::Other => "a name cogwire reserves for itself",
        }
    }
}

/// Whether the SSM parameter `name` is in the reserved namespace of pool `pool_id`; with `None`
/// (the pool not known, as in an offline `validate`), of any pool whose id it could be. SSM
/// names are case-sensitive, so only `/cogwire/` in lower case is reserved.
pub fn reserved(name: &str, pool_id: Option<&str>) -> Option<Reserved> {
    let rest = name.strip_prefix("/cogwire/")?;
    let (pool, below) = match rest.split_once('/') {
        Some((pool, below)) => (pool, Some(below)),
        None => (rest, None),
    };
    let ours = match pool_id {
        Some(pool_id) => pool == pool_id,
        None => could_be_pool_id(pool),
    };
    if !ours {
        return None;
    }
    Some(match below {
        None => Reserved::Prefix,
        Some("state") => Reserved::Record,
        Some(below) if below.starts_with("state/") => Reserved::RecordChunk,
        Some(below) if below == "lock" || below.starts_with("lock-") => Reserved::Lock,
        Some(below) if below.starts_with("secrets/") => Reserved::Fingerprints,
        Some(_) => Reserved::Other,
    })
}

/// A user pool id is `<region>_<letters and digits>`, such as `us-east-1_AbC123` or
/// `us-gov-west-1_x`.
fn could_be_pool_id(text: &str) -> bool {
    let Some((region, suffix)) = text.split_once('_') else {
        return false;
    };
    let mut parts = region.split('-');
    let area = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let Some((number, words)) = rest.split_last() else {
        return false;
    };
    area.len() == 2
        && area.chars().all(|character| character.is_ascii_lowercase())
        && !words.is_empty()
        && words.iter().all(|word| {
            !word.is_empty() && word.chars().all(|character| character.is_ascii_lowercase())
        })
        && !number.is_empty()
        && number.chars().all(|character| character.is_ascii_digit())
        && !suffix.is_empty()
        && suffix
            .chars()
            .all(|character| character.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_cogwire_is_reserved() {
        let pool = "us-east-1_AbC123";
        for (name, expected) in [
            (prefix(pool), Reserved::Prefix),
            (state_name(pool), Reserved::Record),
            (format!("{}/a/0", state_name(pool)), Reserved::RecordChunk),
            (lock_name(pool), Reserved::Lock),
            (format!("{}-takeover-x-1", lock_name(pool)), Reserved::Lock),
            (fingerprints_name(pool, "client1"), Reserved::Fingerprints),
            (format!("{}/orders", prefix(pool)), Reserved::Other),
        ] {
            assert_eq!(reserved(&name, Some(pool)), Some(expected), "{name}");
            assert_eq!(reserved(&name, None), Some(expected), "{name}");
        }
        assert_eq!(reserved(&state_name(pool), Some("us-east-1_other")), None);
        for name in [
            "/cogwire/orders-v1",
            "/cogwire/orders_v1/state",
            "/cogwire/us-east-1/state",
            "/cogwire/us-east-1_/state",
            "/Cogwire/us-east-1_AbC123/state",
            "cogwire/us-east-1_AbC123/state",
            "/apps/us-east-1_AbC123/state",
        ] {
            assert_eq!(reserved(name, None), None, "{name}");
        }
        assert_eq!(
            reserved("/cogwire/us-gov-west-1_x/lock", None),
            Some(Reserved::Lock)
        );
    }
}
