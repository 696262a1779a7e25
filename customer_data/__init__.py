"""One customer's data across every place that holds it, above the places themselves.

- `customer_data.forget`: forget a customer everywhere (GDPR art. 17): the store and Rasa's
  tracker store (store.privacy), the analytics tables (analytics) and the e-mail channel's spool
  (mail);
- `customer_data.cli`: the ``store`` console script: store.cli's commands plus ``forget``.

It may import the store, analytics and the channels; none of them imports it (pyproject.toml,
[tool.importlinter]).
"""
