"""Add-ons of the Rasa server and the action server, loaded by Rasa by their module paths.

- `rasa_addons.channels`: the customer channels (REST, socket.io) with message limits per
  conversation and per client, the `client` and `language` metadata, and the widget's origins;
- `rasa_addons.tracker_store`: Rasa's SQL tracker store without e-mail addresses at rest;
- `rasa_addons.ratelimit`: who is asking (the client's address and pseudonym, the message's
  language) and how often: sliding-window limits in memory or shared through Redis;
- `rasa_addons.action_server`: the action server on loopback, behind a shared secret;
- `rasa_addons.rasa_server`: `rasa run` with the HTTP API's token from nordvik.secrets.

Importing this package imports nothing heavy; the modules import Rasa when they are used.
"""
