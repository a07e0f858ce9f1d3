-- VoD assets, webhook endpoints and their delivery log.
-- Times are UTC text, "2006-01-02T15:04:05.000000Z" (fixed width, so they
-- sort); an unset time (ready_at before ready) is ''. Durations are
-- nanoseconds. output is the JSON encoding of catalog.AssetOutput and events
-- a JSON array of event types.

-- +goose Up
CREATE TABLE assets (
    id              TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    title           TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status <> ''),
    stage           TEXT    NOT NULL,
    progress        REAL    NOT NULL,
    error           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    source_filename TEXT    NOT NULL,
    source_size     INTEGER NOT NULL,
    source_key      TEXT    NOT NULL,
    source_origin   TEXT    NOT NULL,
    source_url      TEXT    NOT NULL,
    source_probe    TEXT    NOT NULL,
    upload_id       TEXT    NOT NULL,
    job_id          INTEGER NOT NULL,
    duration_ns     INTEGER NOT NULL,
    output          TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    ready_at        TEXT    NOT NULL
) STRICT;

-- ListAssets pages newest first, optionally within one status or upload.
CREATE INDEX assets_created_at ON assets (created_at, id);
CREATE INDEX assets_status ON assets (status, created_at, id);
CREATE INDEX assets_upload_id ON assets (upload_id, created_at, id);

CREATE TABLE webhooks (
    id         TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),
    url        TEXT NOT NULL CHECK (url <> ''),
    secret     TEXT NOT NULL CHECK (secret <> ''),
    events     TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    webhook_id  TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT    NOT NULL,
    duration_ns INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
) STRICT;

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE assets;
