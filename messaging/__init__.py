"""Direct messages: WhatsApp (through Twilio), Facebook Messenger and LINE on the same assistant.

See docs/MESSAGING.md. Modules: settings (secrets from the environment; a channel without its
secrets is off), signatures (webhook checks), platform (what each platform supplies), whatsapp,
messenger, line (their wire formats), formatting (limits, quick replies, numbered choices),
contacts (who a conversation is with, reply windows, LINE reply tokens), turns (the shared
conversation logic), channel (the Rasa input channels), send_test (try it locally).
"""
