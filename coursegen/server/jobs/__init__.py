"""Run course generation as durable jobs whose events are stored, replayed and fanned out."""
