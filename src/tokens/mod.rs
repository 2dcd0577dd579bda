//! Stage five: tokens as a running service meets them. `token` gets an access token the way a
//! service does (client credentials at the pool's token endpoint, cached); `verify` checks a
//! running service's declared routes answer 401, 403 and 2xx as services.toml says.

pub mod token;
pub mod verify;
