"""The phone channel: Twilio Voice webhooks (TwiML) on the same Rasa model and actions.

See docs/PHONE.md. `voice.channel.VoiceInput` is the Rasa input channel `phone`
(credentials.yml); `python -m voice.send_test` plays a signed call against the local server.
"""
