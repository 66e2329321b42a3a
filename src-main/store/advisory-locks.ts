// PostgreSQL advisory lock ids, named once: every process on one database must agree on them, and
// two uses must never share one by accident. (SQLite has one process per store and needs none.)
export const ADVISORY_LOCK = {
  /** Held (session-scoped) while migrations run, so two processes starting together take turns. */
  migrate: 7235001,
  /** Held (transaction-scoped) by each job-queue claim, so workers never over-fill max_jobs. */
  claim: 7235002
} as const
