//! Stage four: credentials where services read them. `decide` holds the pure decisions (which
//! entries a service's credentials become, what to write and delete, what a rotation step must do).
pub mod decide;
