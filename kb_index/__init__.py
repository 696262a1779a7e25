"""Hybrid, multilingual search over the knowledge articles (independent of Rasa and Slack)."""
