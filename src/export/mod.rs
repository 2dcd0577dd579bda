//! What other tools need of services.toml, written in their formats. Each format is a pure
//! function of the checked model and of the few facts only the pool knows.

pub mod openapi;
