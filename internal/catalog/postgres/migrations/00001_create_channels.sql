-- Channels: one row per live channel.
-- IDs, names and keys compare byte by byte (COLLATE "C"), as in SQLite, so
-- ordering ties by ID does not depend on the server's locale.

-- +goose Up
CREATE TABLE channels (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (id <> ''),
    name       TEXT COLLATE "C" NOT NULL UNIQUE CHECK (name <> ''),
    stream_key TEXT COLLATE "C" NOT NULL UNIQUE CHECK (stream_key <> ''),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE channels;
