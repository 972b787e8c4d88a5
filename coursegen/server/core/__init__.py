"""What every part of the server stands on: the database protocol, metrics, logs, checkpoints, limits."""
