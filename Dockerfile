# rootctl in a container: a static binary on distroless, run as nonroot.
#
#   docker build -t rootctl .
#   docker build -t rootctl \
#     --build-arg VERSION=v1.2.3 \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#   docker run --rm rootctl --version

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w \
        -X github.com/rootctl/rootctl/commands.version=${VERSION} \
        -X github.com/rootctl/rootctl/commands.commit=${COMMIT} \
        -X github.com/rootctl/rootctl/commands.date=${DATE}" \
      -o /out/rootctl . \
 && mkdir /out/state

# static-debian12 has CA certificates (AWS's TLS endpoints), tzdata, /tmp
# and the nonroot user (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rootctl /rootctl
# The audit log and unlock backups go to $XDG_STATE_HOME/rootctl: mount a
# volume at /state to keep them (docker run -v rootctl-state:/state ...).
COPY --from=build --chown=65532:65532 /out/state /state
ENV XDG_STATE_HOME=/state
USER nonroot
ENTRYPOINT ["/rootctl"]
