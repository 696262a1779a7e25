"""What a channel itself says to a customer (before Rasa sees the message), per language."""

from __future__ import annotations

from nordvik.languages import DEFAULT_LANGUAGE

SLOW_DOWN: dict[str, str] = {
    "en": "You're sending messages faster than I can keep up with. "
          "Please wait a moment, then send your message again.",
    "sv": "Du skickar meddelanden snabbare än jag hinner med. "
          "Vänta en liten stund och skicka sedan ditt meddelande igen.",
    "nb": "Du sender meldinger raskere enn jeg rekker å følge med. "
          "Vent et øyeblikk, og send meldingen din på nytt.",
    "zh": "您傳送訊息的速度太快了，我來不及處理。請稍等一下，再重新傳送您的訊息。",
}


def slow_down(language: str) -> str:
    """The polite "please wait" for a customer who is over a message limit."""
    return SLOW_DOWN.get(language, SLOW_DOWN[DEFAULT_LANGUAGE])
