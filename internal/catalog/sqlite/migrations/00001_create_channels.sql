-- Channels: one row per live channel.
-- Times are UTC text, "2006-01-02T15:04:05.000000Z" (fixed width, so they sort).

-- +goose Up
CREATE TABLE channels (
    id         TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),
    name       TEXT NOT NULL UNIQUE CHECK (name <> ''),
    stream_key TEXT NOT NULL UNIQUE CHECK (stream_key <> ''),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE channels;
