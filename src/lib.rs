//! cogwire: machine-to-machine OAuth 2.0 on Amazon Cognito, declared in one file.
