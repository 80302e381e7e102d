-- The queue table's ids are never reused. SQLite's 0012 rebuilds its table with AUTOINCREMENT;
-- here the id is an identity column, whose sequence never hands out an id twice: nothing to do.
SELECT 1;
