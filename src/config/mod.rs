//! Stage one: services.toml, from text to the checked desired state. `shape` reads the TOML (types,
//! known keys, spans), `model` checks its meaning (references, names, limits from `rules`) and
//! builds the desired state; `diagnostic` words what is wrong with a caret under it, `suggest`
//! adds "did you mean". `graph` derives the services' dependencies and deployment waves. `schema` describes the same
//! shape and rules as a JSON Schema, for editors.

pub mod diagnostic;
pub mod duration;
pub mod environment;
pub mod gateway;
pub mod graph;
pub mod model;
pub mod namespace;
pub mod rules;
pub mod schema;
pub mod shape;
pub mod suggest;
