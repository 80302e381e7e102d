-- ProcessBulkImport resumes: processed_rows counts the data rows (after the header) whose chunk
-- has committed, so a redelivered job skips them. Advanced in the same transaction as the rows.
ALTER TABLE import_logs ADD COLUMN processed_rows INTEGER NOT NULL DEFAULT 0;
