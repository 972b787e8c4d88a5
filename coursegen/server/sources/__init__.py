"""Keep uploaded sources and their chunks beside the jobs, and serve them to course runs."""
