-- VoD assets, webhook endpoints and their delivery log.
-- Times are TIMESTAMPTZ (microseconds); an unset time (ready_at before
-- ready) is NULL. Durations are nanoseconds. output is the JSON encoding of
-- catalog.AssetOutput; events the webhook's event types.

-- +goose Up
CREATE TABLE assets (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (id <> ''),
    title           TEXT             NOT NULL,
    status          TEXT             NOT NULL CHECK (status <> ''),
    stage           TEXT             NOT NULL,
    progress        DOUBLE PRECISION NOT NULL,
    error           TEXT             NOT NULL,
    attempts        INTEGER          NOT NULL,
    source_filename TEXT             NOT NULL,
    source_size     BIGINT           NOT NULL,
    source_key      TEXT             NOT NULL,
    source_origin   TEXT             NOT NULL,
    source_url      TEXT             NOT NULL,
    source_probe    TEXT             NOT NULL,
    upload_id       TEXT             NOT NULL,
    job_id          BIGINT           NOT NULL,
    duration_ns     BIGINT           NOT NULL,
    output          JSONB            NOT NULL,
    created_at      TIMESTAMPTZ      NOT NULL,
    updated_at      TIMESTAMPTZ      NOT NULL,
    ready_at        TIMESTAMPTZ
);

-- ListAssets pages newest first, optionally within one status or upload.
CREATE INDEX assets_created_at ON assets (created_at, id);
CREATE INDEX assets_status ON assets (status, created_at, id);
CREATE INDEX assets_upload_id ON assets (upload_id, created_at, id);

CREATE TABLE webhooks (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (id <> ''),
    url        TEXT        NOT NULL CHECK (url <> ''),
    secret     TEXT        NOT NULL CHECK (secret <> ''),
    events     TEXT[]      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id  TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    TEXT        NOT NULL,
    event_type  TEXT        NOT NULL,
    attempt     INTEGER     NOT NULL,
    status_code INTEGER     NOT NULL,
    error       TEXT        NOT NULL,
    duration_ns BIGINT      NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE assets;
