-- Per-channel DVR window and recording (issue 11).
-- dvr_window_ns is catalog.Channel.DVRWindow in nanoseconds (0: the
-- deployment's live.dvr_window).

-- +goose Up
ALTER TABLE channels ADD COLUMN dvr_window_ns BIGINT NOT NULL DEFAULT 0 CHECK (dvr_window_ns >= 0);
ALTER TABLE channels ADD COLUMN record BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE channels DROP COLUMN record;
ALTER TABLE channels DROP COLUMN dvr_window_ns;
