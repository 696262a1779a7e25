"""Moved: the widget's socket.io channel is `rasa_addons.channels.SocketIOChannel`.

This name stays importable for anything that still refers to `web.rasa_channel`; credentials.yml
names the new class. Do not list both in one credentials file: they are the same channel.
"""

from __future__ import annotations

from rasa_addons.channels import SocketIOChannel as WidgetSocketIOInput

__all__ = ["WidgetSocketIOInput"]
