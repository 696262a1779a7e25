"""The live handoff between a customer's conversation and an agent's Slack thread.

Used by both deployables: the action server starts handoffs and forwards customer messages, the
Slack app relays agent replies and ends handoffs. Neither `actions/` nor `bot/` owns it.
"""
