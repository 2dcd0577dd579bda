//! Test support: the local AWS server, fresh pools, environments.
