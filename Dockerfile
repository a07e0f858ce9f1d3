# Osprey in a container: `docker build -t osprey .` then
#   docker run -p 8080:8080 -p 1935:1935 -p 9000:9000/udp -v osprey-data:/data osprey
# runs `osprey serve` on its embedded defaults (SQLite catalog and media under
# /data). The Helm chart in deploy/helm/osprey runs the same image per role.
#
# Build arguments: GO_VERSION (the golang image tag, Go 1.26 or newer) and
# VERSION (what `osprey version` prints; empty shows "devel"), e.g.
#   docker build --build-arg VERSION=v1.2.3 -t osprey:v1.2.3 .

ARG GO_VERSION=1.26

# ---- build: a static binary (the SQLite driver, modernc.org/sqlite, is pure Go)
FROM golang:${GO_VERSION}-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
# The module cache is a layer of its own: it is rebuilt only when go.mod or
# go.sum change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=""
RUN go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/osprey ./cmd/osprey

# ---- runtime: Debian's ffmpeg (ffprobe comes with it), as on the development machines
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ffmpeg ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 osprey \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin osprey \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY --from=build /out/osprey /usr/local/bin/osprey
# /data is --data for `osprey serve` (catalog, media, admin token or, in a
# cluster, scratch space only) and for `osprey edge` (disk cache).
ENV OSPREY_DATA=/data OSPREY_EDGE_DATA=/data
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
# HTTP (API, console, HLS/DASH origin), RTMP, SRT; `osprey edge` listens on 8081.
EXPOSE 8080 1935 9000/udp
# Osprey handles SIGTERM itself (publishers are cut, playlists ended, VoD jobs
# re-queued, then HTTP stops); tini as PID 1 forwards the signals and reaps
# orphans, so that a second SIGTERM still stops it at once (a PID 1 ignores
# signals it has no handler for, and osprey restores the default one after
# the first).
ENTRYPOINT ["/usr/bin/tini", "--", "osprey"]
CMD ["serve"]
