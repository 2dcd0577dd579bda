# syntax=docker/dockerfile:1
# cogwire in a container, for CI systems that run jobs in images (GitLab CI, Buildkite, Tekton):
#
#   docker build -t cogwire .
#   docker run --rm -v "$PWD:/work" -e AWS_REGION -e AWS_ACCESS_KEY_ID ... cogwire plan
#
# Two stages: the toolchain builds the release binary, and only the binary goes into a slim
# Debian with CA certificates (for AWS's endpoints), run as a user without privileges. The final
# image keeps a shell, since GitLab CI runs its `script:` lines in the job's image.

FROM rust:1.94-slim-bookworm AS builder
WORKDIR /src
# The workspace's manifests first, then the sources: a change to src/ does not refetch crates.
COPY Cargo.toml Cargo.lock ./
COPY examples/gateway-service/Cargo.toml examples/gateway-service/Cargo.toml
COPY src src
COPY examples/gateway-service/src examples/gateway-service/src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p cogwire \
    && cp target/release/cogwire /usr/local/bin/cogwire

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl jq \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin cogwire
COPY --from=builder /usr/local/bin/cogwire /usr/local/bin/cogwire
USER 10001:10001
WORKDIR /work
ENV NO_COLOR=1
ENTRYPOINT ["cogwire"]
CMD ["--help"]
