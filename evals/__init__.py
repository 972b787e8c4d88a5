"""Generate a fixed set of course requests and write their quality reports to docs/quality.md."""
