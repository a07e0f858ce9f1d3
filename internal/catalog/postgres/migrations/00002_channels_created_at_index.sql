-- ListChannels returns channels oldest first; index that order.

-- +goose Up
CREATE INDEX channels_created_at ON channels (created_at, id);

-- +goose Down
DROP INDEX channels_created_at;
