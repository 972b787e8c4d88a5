"""The server's foundations: database protocol, metrics, logs, checkpoints, limits."""
