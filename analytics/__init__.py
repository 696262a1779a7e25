"""Analytics: Rasa's event stream to per-conversation and per-turn facts, KPIs and reports.

Layers: settings -> events (one broker event, compacted) -> facts (pure) -> ingest (database)
-> consumer (SQL broker tail or RabbitMQ); kpis and queries read the facts; report and the
dashboard (package `dashboard`) show them. See analytics/README.md.
"""
