"""Play a call against the local phone channel and print the TwiML it answers.

    TWILIO_AUTH_TOKEN=... python -m voice.send_test --from +46701112233 "where is my order" \\
        "#10001" "-" "talk to a person"

Each argument after the options is one thing the caller does when the call is listening: words
are said (SpeechResult), `#digits` are keyed (Digits), `-` is silence (Twilio follows the
fallback after the <Gather>), `dial:STATUS` ends a transfer (`dial:completed`,
`dial:no-answer`). Requests are signed as Twilio signs them, with TWILIO_AUTH_TOKEN, for the URL
given with --url (default: VOICE_PUBLIC_URL, else http://127.0.0.1:$RASA_PORT/webhooks/phone;
they must be the URL the server checks signatures against).
"""

from __future__ import annotations

import argparse
import sys

from nordvik.env import env_int
from voice.player import CallPlayer, Page
from voice.settings import VoiceSettings


def default_url(settings: VoiceSettings) -> str:
    if settings.public_url:
        return settings.public_url
    return f"http://127.0.0.1:{env_int(None, 'RASA_PORT', 5005, low=1, high=65535)}/webhooks/phone"


def show(step: str, page: Page) -> None:
    print(f"--- {step} -> HTTP {page.status}")
    print(page.xml)
    if page.says:
        print(f"    (said: {page.text})")


def play(player: CallPlayer, actions: list[str]) -> int:
    page = player.start()
    show("call", page)
    for action in actions:
        if page.status != 200 or page.hangup:
            break
        if action == "-":
            page = player.silence()
        elif action.startswith("dial:"):
            page = player.dial_ended(action.removeprefix("dial:"))
        elif action.startswith("#"):
            page = player.press(action[1:])
        else:
            page = player.say(action)
        show(action, page)
    return 0 if page.status == 200 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="caller", default="+46701112233",
                        help="the caller's number (E.164), or 'anonymous'")
    parser.add_argument("--to", dest="dialled", default="+46812345600",
                        help="the number dialled (VOICE_NUMBER_* choose the language)")
    parser.add_argument("--url", default=None, help="the channel's webhook base URL")
    parser.add_argument("actions", nargs="*", help="words, #digits, - (silence), dial:STATUS")
    args = parser.parse_args(argv)
    settings = VoiceSettings.from_env()
    if settings.missing():
        print(f"cannot sign the requests: {settings.missing()}", file=sys.stderr)
        return 2
    player = CallPlayer(args.url or default_url(settings), settings.auth_token,
                        caller=args.caller, dialled=args.dialled)
    return play(player, list(args.actions))


if __name__ == "__main__":
    sys.exit(main())
