-- Per-channel DVR window and recording (issue 11).
-- dvr_window_ns is catalog.Channel.DVRWindow in nanoseconds (0: the
-- deployment's live.dvr_window); record is 0 or 1.

-- +goose Up
ALTER TABLE channels ADD COLUMN dvr_window_ns INTEGER NOT NULL DEFAULT 0 CHECK (dvr_window_ns >= 0);
ALTER TABLE channels ADD COLUMN record INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1));

-- +goose Down
ALTER TABLE channels DROP COLUMN record;
ALTER TABLE channels DROP COLUMN dvr_window_ns;
