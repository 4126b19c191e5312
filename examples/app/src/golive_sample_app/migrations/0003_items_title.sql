-- golive: breaking
-- Version 3: name becomes title. Code of versions 1 and 2 reads "name" and breaks.
ALTER TABLE items RENAME COLUMN name TO title;
