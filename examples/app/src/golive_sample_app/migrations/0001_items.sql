-- golive: compatible
-- Version 1: the items table.
CREATE TABLE items (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
