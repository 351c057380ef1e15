"""The observer ingest gateway: HTTP in, durable journal, Kafka out (see docs/gateway.md)."""
