# fleetsim in a container image, for the Kubernetes Jobs in deploy/:
#   docker build -t registry.example.com/fleetsim:1 .
#   docker run --rm registry.example.com/fleetsim:1 fleetsim sweep /scenarios/quickstart.toml -r 2
# The binary is built against Debian 12's glibc and runs on the same release's slim image.

# Build stage: the locked dependencies and the sources; tests and outputs stay out
# (.dockerignore).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY assets ./assets
COPY templates ./templates
COPY scenarios ./scenarios
RUN cargo build --release --locked && cp target/release/fleetsim /usr/local/bin/fleetsim

# Runtime: the binary and the shipped scenarios, run as an unprivileged user in /results
# (the Jobs mount the results volume there).
FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/fleetsim /usr/local/bin/fleetsim
COPY scenarios /scenarios
RUN mkdir -p /results && chown 10001:10001 /results
USER 10001:10001
WORKDIR /results
CMD ["fleetsim", "--help"]
