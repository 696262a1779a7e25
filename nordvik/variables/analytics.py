"""Variables of the analytics pipeline, the dashboard and the demo data."""

from __future__ import annotations

from nordvik.variables.spec import Variable, var

VARIABLES: tuple[Variable, ...] = (
    var("ANALYTICS_EVENTS", "bool", True, "run", "0: Rasa sends no events to analytics."),
    var("ANALYTICS_DATABASE_URL", "str", "", "analytics dashboard tools",
        "Database of the analytics tables; unset: DATABASE_URL if PostgreSQL, else SQLite.",
        "sqlite:///$NORDVIK_VAR_DIR/analytics.db"),
    var("EVENTS_DB", "path", None, "analytics dashboard run",
        "SQLite file of Rasa's SQL event broker.", "events.db beside TRACKER_DB"),
    var("RABBITMQ_URL", "str", "", "analytics dashboard run",
        "amqp:// URL: Rasa publishes events to RabbitMQ instead of SQLite."),
    var("ANALYTICS_QUEUE", "str", "nordvik_analytics", "analytics dashboard run",
        "RabbitMQ queue the consumer reads."),
    var("ANALYTICS_EXCHANGE", "str", "rasa-exchange", "analytics dashboard run",
        "RabbitMQ exchange Rasa publishes to."),
    var("ANALYTICS_POLL_SECONDS", "float", 1.0, "analytics",
        "Seconds between the consumer's polls."),
    var("ANALYTICS_BATCH_SIZE", "int", 500, "analytics", "Events the consumer takes per batch."),
    var("ANALYTICS_REVIEW_FILE", "path", "data/nlu/review.yml", "dashboard tools",
        "Where messages picked for NLU review are written."),
    var("ANALYTICS_LOW_CSAT", "int", 2, "analytics dashboard",
        "Ratings at or below this count as low."),
    var("DASHBOARD_HOST", "str", "127.0.0.1", "dashboard", "Interface of the dashboard."),
    var("DASHBOARD_PORT", "int", 8081, "dashboard run", "Port of the dashboard."),
    var("DASHBOARD_SECRET", "secret", None, "dashboard",
        "Signs the dashboard's session cookies.", "var/secrets/dashboard_session"),
    var("DASHBOARD_LEAD_PASSWORD", "secret", None, "dashboard",
        "Password of the first dashboard user, lead.", "var/secrets/dashboard_lead_password"),
    var("DASHBOARD_SESSION_HOURS", "int", 8, "dashboard", "Lifetime of a dashboard login."),
    var("DASHBOARD_SECURE_COOKIES", "bool", False, "dashboard",
        "Mark cookies Secure (behind HTTPS)."),
    var("DASHBOARD_LOGIN_MAX_FAILURES", "int", 5, "dashboard",
        "Failed logins per window before a lock."),
    var("DASHBOARD_LOGIN_WINDOW_S", "int", 900, "dashboard", "Window of that count."),
    var("DEMO_CONVERSATIONS", "int", 48, "run tools",
        "Demo conversations make run creates for an empty dashboard."),
)
