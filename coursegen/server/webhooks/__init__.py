"""Tell course platforms about finished jobs with signed, durable, retried webhooks."""
