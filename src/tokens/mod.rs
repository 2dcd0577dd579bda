//! Stage five: tokens as a running service meets them. `token` gets an access token the way a
//! service does (client credentials at the pool's token endpoint, cached), and `source` gets them
//! for a session's services (their managed client, its stored secret); `verify` checks a
//! running service's declared routes answer 401, 403 and 2xx as services.toml says, with the
//! requests `probe` makes.

pub mod probe;
pub mod source;
pub mod token;
pub mod verify;
