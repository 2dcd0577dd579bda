//! The one integration test binary: drives the real `cogwire` executable and the AWS SDK against
//! the local AWS (moto's server extended by `localaws/`).

mod localaws;
mod support;
