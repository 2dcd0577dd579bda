//! Stage four: credentials where services read them. `decide` holds the pure decisions (which
//! entries a service's credentials become, what to write, delete or refuse, what a rotation step
//! must do); `sync` and `rotate` are the engines that read AWS, decide and execute, generic over
//! the cloud so that an in-memory one can drive them. They return reports and typed errors; the
//! commands print them.
pub mod decide;
pub mod rotate;
pub mod sync;
