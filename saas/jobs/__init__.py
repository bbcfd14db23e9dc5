"""RQ jobs. Each takes ids (tenant id first), is idempotent and records results in the DB."""
