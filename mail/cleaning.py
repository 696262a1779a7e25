"""The customer's own words in a mail: quoted history and signatures removed, HTML made text.

    customer_text("Where is A10001?\\n\\nOn Mon, 1 Dec 2026, Nordvik wrote:\\n> Hi ...")
    -> "Where is A10001?"

Quoted history is cut at the first reply header ("On ... wrote:", "Den ... skrev ...:",
"... 寫道：", an Outlook "From: / Sent:" block or "-----Original Message-----") and every line
starting with ">" is dropped. The signature is cut at the "-- " line (RFC 3676), at "Sent from my
iPhone" style lines and at a closing ("Best regards", "Med vänliga hälsningar", "Med vennlig
hilsen", "祝好", ...) followed by at most a few short lines. Whatever is cut, at least the first
non-empty line survives, so a mail that is only "Thanks!" stays "Thanks!".
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_REPLY_HEADER = [
    re.compile(r"^\s*(on|den|på|am|le)\s.{0,300}\b(wrote|skrev|schrieb|a écrit)\b.{0,200}:\s*$",
               re.IGNORECASE),
    re.compile(r"^.{0,300}\b(wrote|skrev)( følgende)?\s*:\s*$", re.IGNORECASE),
    # "man. 1. des. 2026 kl. 10:00 skrev Nordvik Home <support@nordvik.example>:"
    re.compile(r"^.{0,300}\d.{0,300}\b(wrote|skrev|schrieb)\b.{0,200}:\s*$", re.IGNORECASE),
    re.compile(r"^.{0,300}(寫道|写道)\s*[:：]?\s*$"),
    re.compile(r"^\s*-{2,}\s*(original message|ursprungligt meddelande|opprinnelig melding|"
               r"forwarded message|vidarebefordrat meddelande|videresendt melding|原始郵件|"
               r"原始邮件|轉寄的郵件)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
]
# An Outlook header block: "From:" then, within a few lines, "Sent:" (or its translations).
_FROM_LINE = re.compile(r"^\s*\**(from|från|fra|寄件者|发件人)\**\s*[:：]", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\s*\**(sent|date|skickat|datum|sendt|dato|傳送時間|日期|发送时间)\**"
                        r"\s*[:：]", re.IGNORECASE)
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(sent from my|skickat från min|sendt fra min|get outlook for|hämta outlook för|"
    r"hent outlook for|從我的|从我的).{0,60}$", re.IGNORECASE)
_CLOSING = re.compile(
    r"^\s*(best regards|kind regards|warm regards|regards|best wishes|best|cheers|br|"
    r"thanks( in advance| again)?|thank you( very much)?|many thanks|yours sincerely|sincerely|"
    r"med vänlig(a)? hälsning(ar)?|vänlig(a)? hälsning(ar)?|hälsningar|mvh|tack på förhand|"
    r"med vennlig hilsen|vennlig hilsen|hilsen|beste hilsen|takk på forhånd|"
    r"祝好|祝順心|敬祝|敬上|謝謝|谢谢|感謝|此致)[\s,.!:;。，！]*$",
    re.IGNORECASE,
)
_MAX_LINES_AFTER_CLOSING = 4
_MAX_NAME_LINE_CHARS = 60


def _cut_quoted(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if any(pattern.match(line) for pattern in _REPLY_HEADER):
            return lines[:index]
        # "On Mon, 1 Dec 2026 at 10:00, Anna Berg <anna@example.com>\nwrote:" wraps.
        if index + 1 < len(lines) and re.match(r"^\s*(on|den)\s", line, re.IGNORECASE):
            joined = f"{line.rstrip()} {lines[index + 1].strip()}"
            if any(pattern.match(joined) for pattern in _REPLY_HEADER[:2]):
                return lines[:index]
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(following)
                                          for following in lines[index + 1:index + 5]):
            return lines[:index]
    return lines


def _cut_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) or _MOBILE_FOOTER.match(line):
            lines = lines[:index]
            break
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for position, index in enumerate(filled):
        after = filled[position + 1:]
        if (_CLOSING.match(lines[index]) and len(after) <= _MAX_LINES_AFTER_CLOSING
                and all(len(lines[i].strip()) <= _MAX_NAME_LINE_CHARS for i in after)):
            return lines[:index]
    return lines


def customer_text(text: str) -> str:
    """The new part of a mail's text: no quoted history, no signature, tidy blank lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((line.strip() for line in lines if line.strip()
                  and not line.lstrip().startswith(">")), "")
    kept = [line for line in _cut_quoted(lines) if not line.lstrip().startswith(">")]
    kept = _cut_signature(kept)
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in kept)).strip()
    return cleaned or first


class _TextFromHtml(HTMLParser):
    """Visible text of an HTML mail body, without quoted replies, styles or scripts."""

    _SKIPPED = frozenset({"style", "script", "head", "title", "blockquote"})
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                         "table", "ul", "ol", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_stack: list[str] = []

    _VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._VOID:
            if tag in self._BLOCKS and not self._skip_stack:
                self.parts.append("\n")
            return
        classes = " ".join(value or "" for name, value in attrs if name == "class")
        if (self._skip_stack or tag in self._SKIPPED or "gmail_quote" in classes
                or "moz-cite-prefix" in classes):
            self._skip_stack.append(tag)
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_stack:
            if tag in self._skip_stack:
                while self._skip_stack and self._skip_stack.pop() != tag:
                    pass
            return
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_stack:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
