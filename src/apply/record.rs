//! The ownership record: which resource servers and clients of a pool cogwire manages, kept in the
//! account itself (SSM Parameter Store) so that every CI runner agrees and no local file matters.
//!
//! Layout, under the reserved prefix `/cogwire/<pool-id>/`:
//! - `state`: a pointer, `{"format_version":3,"slot":"a","chunks":N}`, which holds the record
//!   itself (`"inline"`, and `chunks` 0) when it fits in the one parameter;
//! - `state/<slot>/<n>`: the record, cut into chunks that fit a standard parameter;
//! - `secrets/<client-id>`: `{"<secret id>": "<SHA-256 of its value>"}`, the secrets of a client
//!   whose value `rotate-secret` has seen (see `secrets::Fingerprints`); one parameter a client,
//!   written only by `rotate-secret`, so it never races an apply's save of the record.
//!
//! A save writes the chunks of the slot not in use, then flips the pointer, so a crash half way
//! through a save leaves the previous record whole.
//!
//! Format 2 keeps, per managed client, a digest of the settings cogwire manages as it last wrote
//! or read them (`RecordedClient::applied`), for `plan --refresh=false`. Before an apply writes a
//! client, it marks the client unsettled in the pointer (one small write), and `load` forgets the
//! digest of an unsettled client: a run that dies between the write and its save of the record
//! never leaves a digest that the pool no longer bears out. Format 1 (no digests) is read as is;
//! a format-1 cogwire refuses format 2, so it cannot change a client behind a digest it ignores.
//!
//! Format 3 stores the same JSON deflated and in base64, and inline in the pointer when it fits:
//! every record write is a PutParameter at SSM's 3 a second, shared with the credentials, so its
//! size is time. A fleet of 50 services' record is one write instead of three; at 1,000 services
//! a save is about half as many chunks (client ids and digests, which do not compress, are most of
//! it). Formats 1 and 2 are still read; a format-2 cogwire refuses format 3.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cloud::operation::Operation;
use crate::cloud::pace::Pacer;
use crate::cloud::{ClientState, ClientSummary, CloudError, CloudResult, Parameters};
use crate::config::namespace::state_name;

/// SSM's standard tier holds 4 KiB a parameter; a little is left over.
const CHUNK_BYTES: usize = 4_000;
/// 2: clients carry `applied` digests, and the pointer may name unsettled clients. 3: the record
/// is deflated and in base64, and inline in the pointer when it fits.
pub const FORMAT_VERSION: u32 = 3;
/// The first format whose clients carry `applied` digests (`plan --refresh=false` needs them).
pub const DIGESTS_SINCE: u32 = 2;
/// The most a stored record may inflate to: far beyond any pool's (a record of 1,000 clients is
/// about 100 KB), and a bound on what a damaged parameter can make cogwire allocate.
const MAX_RECORD_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Resource-server identifier to the service that declared it.
    #[serde(default)]
    pub resource_servers: BTreeMap<String, String>,
    /// Client id to what cogwire knows of it.
    #[serde(default)]
    pub clients: BTreeMap<String, RecordedClient>,
    /// Client names about to be created: written before the create calls, so that a client whose
    /// creation reply was lost in a crash is still known to be cogwire's on the next run.
    #[serde(default)]
    pub pending_clients: BTreeMap<String, String>,
    /// Services whose new client's credentials may not be stored yet: written with the intent to
    /// create, cleared once they are stored, so a run killed in between is finished by the next.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub credentials_pending: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedClient {
    pub service: String,
    pub name: String,
    /// `applied_digest` of the client as cogwire last wrote it or read it from the pool; `None`
    /// when not known (an older cogwire's record, an adopted client, a write that failed or may
    /// not have been recorded). Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
}

impl RecordedClient {
    pub fn new(service: String, name: String) -> Self {
        Self {
            service,
            name,
            applied: None,
        }
    }
}

/// A digest of the settings of a client that cogwire manages (its name, scopes, flows, access
/// token validity, and whether it has a secret): equal digests mean a plan would find nothing to
/// change in them. The client's other settings are not part of it: an update reads them first.
pub fn applied_digest(client: &ClientState) -> String {
    use sha2::Digest as _;
    let managed = serde_json::json!([
        client.name,
        client.scopes,
        client.allowed_oauth_flows,
        client.allowed_oauth_flows_user_pool_client,
        client.effective_access_token_validity(),
        client.has_secret,
    ]);
    let hash = sha2::Sha256::digest(managed.to_string().as_bytes());
    hash.iter()
        .take(12)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Record {
    /// Brings the record in line with the pool: forgets what no longer exists and turns pending
    /// names into ids where exactly one client of that name exists.
    ///
    /// Returns the services whose client exists but whose credentials may not be stored yet: those
    /// adopted from a pending name (created by a run that died) and those still marked pending.
    pub fn reconcile(
        &mut self,
        resource_servers: &[String],
        clients: &[ClientSummary],
    ) -> Vec<String> {
        self.reconcile_resource_servers(resource_servers);
        self.reconcile_clients(clients)
    }

    /// The resource-server half of `reconcile`: forgets servers the pool no longer has.
    pub fn reconcile_resource_servers(&mut self, resource_servers: &[String]) {
        self.resource_servers
            .retain(|identifier, _| resource_servers.contains(identifier));
    }

    /// The client half of `reconcile`, which needs only the pool's client list; returns what
    /// `reconcile` returns.
    pub fn reconcile_clients(&mut self, clients: &[ClientSummary]) -> Vec<String> {
        let mut recovered = Vec::new();
        self.clients
            .retain(|id, _| clients.iter().any(|client| &client.id == id));
        for (id, recorded) in &mut self.clients {
            if let Some(client) = clients.iter().find(|client| &client.id == id) {
                recorded.name.clone_from(&client.name);
            }
        }
        let pending = std::mem::take(&mut self.pending_clients);
        for (name, service) in pending {
            let mut named = clients.iter().filter(|client| client.name == name);
            match (named.next(), named.next()) {
                (Some(client), None) => {
                    recovered.push(service.clone());
                    self.clients
                        .entry(client.id.clone())
                        .or_insert(RecordedClient::new(service, name));
                }
                (Some(_), Some(_)) => {
                    self.pending_clients.insert(name, service);
                }
                (None, _) => {}
            }
        }
        let has_client = |service: &String| {
            self.clients
                .values()
                .any(|recorded| &recorded.service == service)
        };
        let pending_names: BTreeSet<&String> = self.pending_clients.values().collect();
        self.credentials_pending
            .retain(|service| has_client(service) || pending_names.contains(service));
        for service in &self.credentials_pending {
            if has_client(service) && !recovered.contains(service) {
                recovered.push(service.clone());
            }
        }
        recovered.sort();
        recovered
    }

    /// Drops the digests of `ids`: what cogwire last applied to them is no longer known.
    pub fn forget_digests<'a>(&mut self, ids: impl IntoIterator<Item = &'a String>) {
        for id in ids {
            if let Some(client) = self.clients.get_mut(id) {
                client.applied = None;
            }
        }
    }

    pub fn client_of_service(&self, service: &str) -> Option<&str> {
        self.clients
            .iter()
            .find(|(_, recorded)| recorded.service == service)
            .map(|(id, _)| id.as_str())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Pointer {
    format_version: u32,
    slot: String,
    chunks: usize,
    /// Clients an apply was about to write when it last wrote the pointer: their digests are not
    /// to be trusted until a run reads or writes them again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    unsettled: BTreeSet<String>,
    /// The record itself (format 3's encoding), when it fits here; `chunks` is then 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inline: Option<String>,
}

/// The most a pointer with the record inline, and each chunk, may hold.
fn chunk_bytes() -> usize {
    #[cfg(test)]
    if let Some(bytes) = testing::CHUNK_BYTES.get() {
        return bytes;
    }
    CHUNK_BYTES
}

/// For tests of what a large record does, with a small fleet.
#[cfg(test)]
pub mod testing {
    thread_local! {
        pub(super) static CHUNK_BYTES: std::cell::Cell<Option<usize>> =
            const { std::cell::Cell::new(None) };
    }

    /// On this thread, records are saved as if SSM held only `bytes` a parameter: in chunks, and
    /// never inline in the pointer (which is larger than that).
    pub fn small_parameters(bytes: usize) {
        CHUNK_BYTES.set(Some(bytes));
    }
}

/// The record as stored from format 3 on: its JSON, deflated, in base64 (a parameter holds text).
fn encode(record: &Record) -> Result<String, serde_json::Error> {
    use base64::Engine as _;
    let json = serde_json::to_vec(record)?;
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, 9);
    Ok(base64::engine::general_purpose::STANDARD.encode(deflated))
}

/// The record from its stored text, as its format wrote it.
fn decode(text: &str, format: u32) -> Result<Record, String> {
    use base64::Engine as _;
    if format < 3 {
        return serde_json::from_str(text).map_err(|error| error.to_string());
    }
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|error| format!("not base64: {error}"))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_RECORD_BYTES)
        .map_err(|error| format!("not deflated: {error}"))?;
    serde_json::from_slice(&json).map_err(|error| error.to_string())
}

/// A record as loaded, with where it lives.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub record: Record,
    /// The slot in use; `None` when the pool has no record yet.
    pub slot: Option<String>,
    /// How many chunks the slot holds: 0 for a record inline in its pointer.
    pub chunks: usize,
    /// The format it was written in; `None` when there is no record.
    pub format_version: Option<u32>,
    /// The clients its pointer names as unsettled (their digests are already dropped from
    /// `record`): a rewrite of the pointer must keep naming them.
    pub unsettled: BTreeSet<String>,
}

/// Reads and writes the record of one pool.
pub struct RecordStore<'a, P> {
    parameters: &'a P,
    pacer: &'a Pacer,
    pool_id: String,
}

impl<'a, P: Parameters> RecordStore<'a, P> {
    pub fn new(parameters: &'a P, pacer: &'a Pacer, pool_id: &str) -> Self {
        Self {
            parameters,
            pacer,
            pool_id: pool_id.to_owned(),
        }
    }

    async fn get(&self, names: &[String]) -> CloudResult<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        for batch in names.chunks(10) {
            values.extend(
                self.pacer
                    .call(Operation::GetParameters, || self.parameters.get(batch))
                    .await?,
            );
        }
        Ok(values)
    }

    pub async fn load(&self) -> Result<(Record, Option<String>), RecordError> {
        let loaded = self.load_versioned().await?;
        Ok((loaded.record, loaded.slot))
    }

    /// The record, with its slot, size and format. The digests of clients the pointer names as
    /// unsettled are dropped here, so no caller can trust them.
    pub async fn load_versioned(&self) -> Result<Loaded, RecordError> {
        let pointer_name = state_name(&self.pool_id);
        let found = self.get(std::slice::from_ref(&pointer_name)).await?;
        let Some(pointer) = found.get(&pointer_name) else {
            return Ok(Loaded::default());
        };
        let pointer: Pointer =
            serde_json::from_str(pointer).map_err(|error| RecordError::Corrupt {
                name: pointer_name.clone(),
                reason: error.to_string(),
            })?;
        if pointer.format_version > FORMAT_VERSION {
            return Err(RecordError::Newer {
                name: pointer_name,
                version: pointer.format_version,
            });
        }
        let text = match pointer.inline {
            Some(inline) => inline,
            None => {
                let names: Vec<String> = (0..pointer.chunks)
                    .map(|index| self.chunk_name(&pointer.slot, index))
                    .collect();
                let chunks = self.get(&names).await?;
                let mut text = String::new();
                for name in &names {
                    let chunk = chunks.get(name).ok_or_else(|| RecordError::Corrupt {
                        name: name.clone(),
                        reason: "a chunk of the record is missing".to_owned(),
                    })?;
                    text.push_str(chunk);
                }
                text
            }
        };
        let mut record =
            decode(&text, pointer.format_version).map_err(|reason| RecordError::Corrupt {
                name: pointer_name,
                reason,
            })?;
        record.forget_digests(&pointer.unsettled);
        let unsettled = pointer.unsettled;
        Ok(Loaded {
            record,
            slot: Some(pointer.slot),
            chunks: pointer.chunks,
            format_version: Some(pointer.format_version),
            unsettled,
        })
    }

    /// Marks clients as about to be written, rewriting only the pointer (one small write instead
    /// of the whole record): until the next save, `load` forgets their digests. Only for a record
    /// kept in chunks (`chunks` > 0): an inline record is saved whole instead, as one write too.
    pub async fn mark_unsettled(
        &self,
        slot: &str,
        chunks: usize,
        unsettled: &BTreeSet<String>,
    ) -> Result<(), RecordError> {
        if chunks == 0 {
            return Err(RecordError::Corrupt {
                name: state_name(&self.pool_id),
                reason: "an inline record cannot be marked without being saved".to_owned(),
            });
        }
        let pointer = Pointer {
            format_version: FORMAT_VERSION,
            slot: slot.to_owned(),
            chunks,
            unsettled: unsettled.clone(),
            inline: None,
        };
        self.put_pointer(&self.pointer_text(&pointer)?).await
    }

    /// The pointer as its parameter holds it.
    fn pointer_text(&self, pointer: &Pointer) -> Result<String, RecordError> {
        serde_json::to_string(pointer).map_err(|error| RecordError::Corrupt {
            name: state_name(&self.pool_id),
            reason: error.to_string(),
        })
    }

    /// Writes the pointer: the one write that makes a save, or a mark, take effect.
    async fn put_pointer(&self, text: &str) -> Result<(), RecordError> {
        let pointer_name = state_name(&self.pool_id);
        self.pacer
            .call(Operation::PutParameter, || {
                self.parameters.put(&pointer_name, text, true)
            })
            .await?;
        Ok(())
    }

    fn chunk_name(&self, slot: &str, index: usize) -> String {
        format!("{}/{slot}/{index}", state_name(&self.pool_id))
    }

    /// Writes the record into the slot not in use, then points at it. Returns the new slot.
    pub async fn save(
        &self,
        record: &Record,
        current_slot: Option<&str>,
    ) -> Result<String, RecordError> {
        self.save_sized(record, current_slot)
            .await
            .map(|(slot, _)| slot)
    }

    /// As `save`, also returning how many chunks the new slot holds.
    pub async fn save_sized(
        &self,
        record: &Record,
        current_slot: Option<&str>,
    ) -> Result<(String, usize), RecordError> {
        let slot = if current_slot == Some("a") { "b" } else { "a" };
        tracing::info!(
            "saving the ownership record: {} resource servers, {} clients",
            record.resource_servers.len(),
            record.clients.len()
        );
        let text = encode(record).map_err(|error| RecordError::Corrupt {
            name: state_name(&self.pool_id),
            reason: error.to_string(),
        })?;
        let pointer_of = |chunks: usize, inline: Option<String>| {
            self.pointer_text(&Pointer {
                format_version: FORMAT_VERSION,
                slot: slot.to_owned(),
                chunks,
                unsettled: BTreeSet::new(),
                inline,
            })
        };
        let inline = pointer_of(0, Some(text.clone()))?;
        let (pointer, chunks) = if inline.len() <= chunk_bytes() {
            (inline, 0)
        } else {
            let chunks = split(&text, chunk_bytes());
            for (index, chunk) in chunks.iter().enumerate() {
                let name = self.chunk_name(slot, index);
                self.pacer
                    .call(Operation::PutParameter, || {
                        self.parameters.put(&name, chunk, true)
                    })
                    .await?;
            }
            (pointer_of(chunks.len(), None)?, chunks.len())
        };
        self.put_pointer(&pointer).await?;
        Ok((slot.to_owned(), chunks))
    }
}

/// Cuts text into pieces of at most `size` bytes, at character boundaries.
fn split(text: &str, size: usize) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(size);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        chunks.push(&rest[..end]);
        rest = &rest[end..];
    }
    if chunks.is_empty() {
        chunks.push("");
    }
    chunks
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("cogwire's ownership record {name} is unreadable: {reason}")]
    Corrupt { name: String, reason: String },
    #[error("cogwire's ownership record {name} was written by a newer cogwire (format {version})")]
    Newer { name: String, version: u32 },
}

impl RecordError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Cloud(cloud) => cloud.hint(),
            Self::Corrupt { .. } | Self::Newer { .. } => Some(
                "upgrade cogwire, or restore the parameter from its version history in SSM"
                    .to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, name: &str) -> ClientSummary {
        ClientSummary {
            id: id.to_owned(),
            name: name.to_owned(),
        }
    }

    use crate::cloud::memory::MemoryCloud;
    use crate::cloud::pace::PaceSettings;

    const POOL: &str = "us-east-1_Record";

    /// A record of `clients` clients, with ids and digests as random as Cognito's.
    fn fleet_record(clients: usize) -> Record {
        let mut record = Record::default();
        let mut random: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            random
        };
        for index in 0..clients {
            let service = format!("svc-{index:04}");
            record
                .resource_servers
                .insert(format!("{service}-v1"), service.clone());
            let id = format!("{:013x}{:013x}", next() >> 12, next() >> 12);
            let mut client = RecordedClient::new(service.clone(), format!("{service}-client"));
            client.applied = Some(format!(
                "{:024x}",
                u128::from(next()) << 32 | u128::from(next())
            ));
            record.clients.insert(id, client);
        }
        record
    }

    async fn saved_and_loaded(record: &Record) -> (Loaded, usize) {
        let cloud = MemoryCloud::new(POOL);
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let store = RecordStore::new(&parameters, &pacer, POOL);
        store.save(record, None).await.expect("save");
        let writes = pacer.report().operations["PutParameter"].calls as usize;
        (store.load_versioned().await.expect("load"), writes)
    }

    #[tokio::test(start_paused = true)]
    async fn a_small_record_is_one_write_inline_in_its_pointer() {
        let record = fleet_record(50);
        let (loaded, writes) = saved_and_loaded(&record).await;
        assert_eq!(loaded.record, record);
        assert_eq!((loaded.chunks, writes), (0, 1));
        assert_eq!(loaded.format_version, Some(FORMAT_VERSION));
    }

    #[tokio::test(start_paused = true)]
    async fn a_large_record_is_deflated_into_chunks() {
        let record = fleet_record(1_000);
        let json = serde_json::to_string(&record).expect("json").len();
        let (loaded, writes) = saved_and_loaded(&record).await;
        assert_eq!(loaded.record, record);
        let plain_chunks = json.div_ceil(CHUNK_BYTES);
        assert!(loaded.chunks > 1 && writes == loaded.chunks + 1);
        assert!(
            loaded.chunks * 10 <= plain_chunks * 6,
            "{} chunks deflated against {plain_chunks} plain",
            loaded.chunks
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_plain_record_is_still_read() {
        let record = fleet_record(5);
        let cloud = MemoryCloud::new(POOL);
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let pointer = state_name(POOL);
        let json = serde_json::to_string(&record).expect("json");
        parameters
            .put(&format!("{pointer}/b/0"), &json, true)
            .await
            .expect("put");
        let old = serde_json::json!({"format_version": 2, "slot": "b", "chunks": 1});
        parameters
            .put(&pointer, &old.to_string(), true)
            .await
            .expect("put");
        let loaded = RecordStore::new(&parameters, &pacer, POOL)
            .load_versioned()
            .await
            .expect("load");
        assert_eq!(loaded.record, record);
        assert_eq!((loaded.format_version, loaded.chunks), (Some(2), 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_damaged_record_is_refused_not_misread() {
        let cloud = MemoryCloud::new(POOL);
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let pointer = state_name(POOL);
        for inline in ["not base64!", "aGVsbG8=", ""] {
            let damaged = serde_json::json!({"format_version": 3, "slot": "a", "chunks": 0, "inline": inline});
            parameters
                .put(&pointer, &damaged.to_string(), true)
                .await
                .expect("put");
            let error = RecordStore::new(&parameters, &pacer, POOL)
                .load_versioned()
                .await
                .expect_err("damaged");
            assert!(matches!(error, RecordError::Corrupt { .. }), "{error}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_inline_record_is_never_marked_in_place() {
        let cloud = MemoryCloud::new(POOL);
        let parameters = cloud.parameters();
        let pacer = Pacer::new(PaceSettings::default());
        let store = RecordStore::new(&parameters, &pacer, POOL);
        let record = fleet_record(3);
        let slot = store.save(&record, None).await.expect("save");
        let marked = store.mark_unsettled(&slot, 0, &BTreeSet::new()).await;
        assert!(marked.is_err());
        assert_eq!(store.load().await.expect("load").0, record, "nothing lost");
    }

    #[test]
    fn split_keeps_characters_whole() {
        assert_eq!(split("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(split("ééé", 3), vec!["é", "é", "é"]);
        assert_eq!(split("", 4), vec![""]);
    }

    #[test]
    fn reconcile_forgets_the_gone_and_adopts_pending_names() {
        let mut record = Record::default();
        record.resource_servers.insert("gone".into(), "a".into());
        record.resource_servers.insert("kept".into(), "b".into());
        record.clients.insert(
            "old-id".into(),
            RecordedClient::new("a".into(), "a-app-client".into()),
        );
        record
            .pending_clients
            .insert("b-app-client".into(), "b".into());
        record
            .pending_clients
            .insert("never-made".into(), "c".into());
        let recovered = record.reconcile(&["kept".into()], &[summary("new-id", "b-app-client")]);
        assert_eq!(recovered, vec!["b".to_owned()]);
        assert_eq!(
            record.resource_servers.keys().collect::<Vec<_>>(),
            vec!["kept"]
        );
        assert_eq!(record.clients.keys().collect::<Vec<_>>(), vec!["new-id"]);
        assert_eq!(record.client_of_service("b"), Some("new-id"));
        assert!(record.pending_clients.is_empty());
    }

    #[test]
    fn reconcile_names_clients_whose_credentials_are_pending() {
        let mut record = Record::default();
        record.clients.insert(
            "id-a".into(),
            RecordedClient::new("a".into(), "a-app-client".into()),
        );
        record.credentials_pending.insert("a".into());
        record.credentials_pending.insert("gone".into());
        let recovered = record.reconcile(&[], &[summary("id-a", "a-app-client")]);
        assert_eq!(recovered, vec!["a".to_owned()]);
        assert_eq!(
            record.credentials_pending.iter().collect::<Vec<_>>(),
            vec!["a"],
            "a service with neither a client nor a pending name is forgotten"
        );
    }
}
