//! The apply lock: one SSM parameter per pool, created with Overwrite=false, so two applies against
//! one pool never interleave. It names its holder and expires, so a killed run cannot block the
//! next one forever; `cogwire force-unlock` removes it at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::apply::record::lock_name;
use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{CloudError, Parameters};

/// A lock older than this is taken to belong to a run that died.
pub const LOCK_TTL: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Unique to one run, so a run releases only its own lock.
    pub id: String,
    pub holder: String,
    pub acquired_at: u64,
    pub expires_at: u64,
}

impl LockInfo {
    pub fn describe(&self) -> String {
        let now = now_seconds();
        format!(
            "{} since {} s ago (expires in {} s)",
            self.holder,
            now.saturating_sub(self.acquired_at),
            self.expires_at.saturating_sub(now)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another cogwire run holds the lock on this pool: {}", .0.describe())]
    Held(LockInfo),
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn holder() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{user}@{host} pid {}", std::process::id())
}

/// What names a takeover claim: the stale lock's own id (unique to the run that took it) and
/// when it was taken, so that a claim is never shared by two different stale locks.
fn claim_suffix(held: &LockInfo) -> String {
    let id: String = held
        .id
        .chars()
        .filter(|character| character.is_ascii_alphanumeric() || *character == '-')
        .collect();
    format!("{id}-{}", held.acquired_at)
}

pub struct Lock {
    name: String,
    info: LockInfo,
}

impl Lock {
    /// Takes the lock, waiting up to `timeout` for a holder to let go.
    pub async fn acquire<S: Parameters>(
        parameters: &S,
        pacer: &Pacer,
        pool_id: &str,
        timeout: Duration,
    ) -> Result<Self, LockError> {
        let name = lock_name(pool_id);
        let acquired_at = now_seconds();
        let info = LockInfo {
            id: format!(
                "{}-{}-{:x}",
                std::process::id(),
                acquired_at,
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.subsec_nanos())
            ),
            holder: holder(),
            acquired_at,
            expires_at: acquired_at + LOCK_TTL.as_secs(),
        };
        let value = serde_json::to_string(&info).unwrap_or_default();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match pacer
                .call(Operation::PutParameter, || {
                    parameters.put(&name, &value, false)
                })
                .await
            {
                Ok(()) => return Ok(Self { name, info }),
                Err(CloudError::AlreadyExists { .. }) => {}
                Err(error) => return Err(error.into()),
            }
            let current = Self::read(parameters, pacer, pool_id).await?;
            match current {
                // Our own earlier attempt took it, and its reply was lost.
                Some(held) if held.id == info.id => return Ok(Self { name, info }),
                Some(held) if held.expires_at <= now_seconds() => {
                    // A run that died left it. Deleting it outright could delete the fresh lock
                    // of a run that took it over a moment ago; a claim named after the stale lock,
                    // created with Overwrite=false, lets exactly one run remove it.
                    let claim = format!("{name}-takeover-{}", claim_suffix(&held));
                    match pacer
                        .call(Operation::PutParameter, || {
                            parameters.put(&claim, &value, false)
                        })
                        .await
                    {
                        Ok(()) => {
                            if Self::read(parameters, pacer, pool_id).await?.as_ref() == Some(&held)
                            {
                                pacer
                                    .call(Operation::DeleteParameter, || parameters.delete(&name))
                                    .await?;
                            }
                            pacer
                                .call(Operation::DeleteParameter, || parameters.delete(&claim))
                                .await?;
                            continue;
                        }
                        // Another run is taking it over: it is held.
                        Err(CloudError::AlreadyExists { .. })
                            if tokio::time::Instant::now() < deadline =>
                        {
                            tokio::time::sleep(Duration::from_millis(1_000)).await;
                        }
                        Err(CloudError::AlreadyExists { .. }) => return Err(LockError::Held(held)),
                        Err(error) => return Err(error.into()),
                    }
                }
                Some(held) if tokio::time::Instant::now() >= deadline => {
                    return Err(LockError::Held(held));
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(1_000)).await,
                // Released between our put and our read: try again at once.
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn read<S: Parameters>(
        parameters: &S,
        pacer: &Pacer,
        pool_id: &str,
    ) -> Result<Option<LockInfo>, CloudError> {
        let name = lock_name(pool_id);
        let values = pacer
            .call(Operation::GetParameters, || {
                parameters.get(std::slice::from_ref(&name))
            })
            .await?;
        Ok(values.get(&name).map(|value| {
            serde_json::from_str(value).unwrap_or_else(|_| LockInfo {
                id: String::new(),
                holder: "an unreadable lock (remove it with `cogwire force-unlock`)".to_owned(),
                acquired_at: 0,
                expires_at: u64::MAX,
            })
        }))
    }

    /// Releases the lock if it is still this run's.
    pub async fn release<S: Parameters>(
        self,
        parameters: &S,
        pacer: &Pacer,
        pool_id: &str,
    ) -> Result<(), CloudError> {
        if let Some(current) = Self::read(parameters, pacer, pool_id).await?
            && current.id == self.info.id
        {
            pacer
                .call(Operation::DeleteParameter, || parameters.delete(&self.name))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::cloud::CloudResult;
    use crate::cloud::pace::PaceSettings;

    /// Parameter Store in memory, where another run takes an expired lock over right after this
    /// run has read it: the moment two runs that found the same stale lock race.
    struct Racing {
        values: Mutex<BTreeMap<String, String>>,
        other: Mutex<Option<(String, String)>>,
    }

    impl Parameters for Racing {
        async fn get(&self, names: &[String]) -> CloudResult<BTreeMap<String, String>> {
            let found = {
                let values = self.values.lock().expect("values");
                names
                    .iter()
                    .filter_map(|name| Some((name.clone(), values.get(name)?.clone())))
                    .collect()
            };
            if let Some((name, value)) = self.other.lock().expect("other").take() {
                self.values.lock().expect("values").insert(name, value);
            }
            Ok(found)
        }

        async fn put(&self, name: &str, value: &str, overwrite: bool) -> CloudResult<()> {
            let mut values = self.values.lock().expect("values");
            if !overwrite && values.contains_key(name) {
                return Err(CloudError::AlreadyExists {
                    operation: Operation::PutParameter,
                    what: name.to_owned(),
                });
            }
            values.insert(name.to_owned(), value.to_owned());
            Ok(())
        }

        async fn delete(&self, name: &str) -> CloudResult<()> {
            self.values.lock().expect("values").remove(name);
            Ok(())
        }
    }

    fn lock_info(id: &str, expires_at: u64) -> String {
        serde_json::to_string(&LockInfo {
            id: id.to_owned(),
            holder: format!("{id}@host"),
            acquired_at: 1,
            expires_at,
        })
        .expect("json")
    }

    #[tokio::test]
    async fn a_lock_another_run_just_took_over_is_left_alone() {
        let name = lock_name("pool");
        let fresh = lock_info("other-run", now_seconds() + 600);
        let parameters = Racing {
            values: Mutex::new(BTreeMap::from([(name.clone(), lock_info("dead-run", 2))])),
            other: Mutex::new(Some((name.clone(), fresh.clone()))),
        };
        let pacer = Pacer::new(PaceSettings::default());
        let taken = Lock::acquire(&parameters, &pacer, "pool", Duration::ZERO).await;
        assert!(
            matches!(&taken, Err(LockError::Held(held)) if held.id == "other-run"),
            "took a lock another run holds"
        );
        let values = parameters.values.lock().expect("values");
        assert_eq!(
            values.get(&name),
            Some(&fresh),
            "the other run's lock was removed"
        );
        assert_eq!(
            values.len(),
            1,
            "a takeover claim was left behind: {values:?}"
        );
    }

    #[tokio::test]
    async fn an_expired_lock_is_taken_over() {
        let name = lock_name("pool");
        let parameters = Racing {
            values: Mutex::new(BTreeMap::from([(name.clone(), lock_info("dead-run", 2))])),
            other: Mutex::new(None),
        };
        let pacer = Pacer::new(PaceSettings::default());
        let lock = Lock::acquire(&parameters, &pacer, "pool", Duration::ZERO)
            .await
            .expect("the expired lock is taken over");
        assert_eq!(parameters.values.lock().expect("values").len(), 1);
        lock.release(&parameters, &pacer, "pool")
            .await
            .expect("released");
        assert!(parameters.values.lock().expect("values").is_empty());
    }
}
