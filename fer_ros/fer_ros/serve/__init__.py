"""`fer-ros serve`: a web page and HTTP API over the inference pipeline (see docs/serve.md)."""
