"""The Nordvik Home demo store page that embeds the rasa-webchat widget."""
