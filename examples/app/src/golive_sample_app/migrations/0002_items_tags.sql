-- golive: compatible
-- Version 2: an optional tags column and an index on created_at. Version 1 code ignores both.
ALTER TABLE items ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX items_created_at ON items (created_at);
