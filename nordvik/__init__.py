"""Rules every part of Nordvik support shares, each in one module.

- `nordvik.orders`: the order-number format and its normalisation;
- `nordvik.languages`: the four languages, their codes and language detection;
- `nordvik.text`: text normalisation (full-width characters), Slack text helpers, and finding,
  normalising and masking e-mail addresses;
- `nordvik.ratings`: reading a customer's 1-5 satisfaction rating;
- `nordvik.variables`: the one declaration of every environment variable (type, default,
  services, help; `make settings`);
- `nordvik.env`: the only reader of the environment, with clear errors.

Nothing here imports Rasa, Slack, the store or the knowledge index, so every package may use it.
"""
