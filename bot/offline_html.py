"""Telegram's message markup parsers, re-done in Python for the offline fake (`bot.offline`).

Telegram turns `parse_mode` text into plain text plus entities on the server, and refuses the
whole message when the markup is malformed ("can't parse entities: ..."). A fake that accepted
any markup would let a forgotten `html.escape` pass every test and fail in a user's chat, so
`parse_html` mirrors `parse_html` of TDLib's `td/telegram/MessageEntity.cpp` (the code behind
the Bot API): same supported tags, same error wording, byte offsets into the UTF-8 source and
entity offsets in UTF-16 code units.

One deliberate difference, on by default (`strict=True`): TDLib keeps an `&` that does not start
`&lt; &gt; &amp; &quot; &#NN; &#xHH;` as a literal, but the Bot API documentation requires it to
be escaped, and an unescaped `&` almost always means an unescaped `<` is one user input away.
Strict mode refuses it, with a message that says it is the fake's rule, not Telegram's.

The Markdown parsers are smaller approximations: they catch what production trips over most
(MarkdownV2's reserved characters, unclosed entities) without every TDLib corner case.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MarkupError",
    "ParsedText",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "parse_text",
    "utf16_len",
]

_SUPPORTED_TAGS = frozenset(
    "a b strong i em s strike del u ins tg-spoiler tg-emoji span pre code blockquote".split()
)
_SIMPLE_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
}  # fmt: skip
_NAMED_REFS = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SPACES = b" \t\r\n\x00\x0b\x0c"
_TRIM = " \t\r\n\x0b\x0c"


class MarkupError(ValueError):
    """The text's markup is malformed; `str(exc)` is Telegram's wording after "can't parse
    entities: "."""


@dataclass
class ParsedText:
    """Text as the recipient sees it, and its entities as the Bot API returns them."""

    text: str
    entities: list[dict]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_text(text: str, parse_mode: str | None, entities: list | None = None,
               *, strict: bool = True) -> ParsedText:  # fmt: skip
    """Parse `text` as Telegram would for `parse_mode`, then trim surrounding whitespace
    (Telegram does too; an all-blank message is an empty one)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        parsed = parse_html(text, strict=strict)
    elif mode == "markdownv2":
        parsed = parse_markdown_v2(text)
    elif mode == "markdown":
        parsed = parse_markdown(text)
    else:
        parsed = ParsedText(text, [dict(e) for e in entities or []])
    return _trim(parsed)


def _trim(parsed: ParsedText) -> ParsedText:
    text = parsed.text
    head = utf16_len(text) - utf16_len(text.lstrip(_TRIM))
    stripped = text.strip(_TRIM)
    end = utf16_len(stripped)
    out = []
    for ent in parsed.entities:
        start = max(ent["offset"] - head, 0)
        stop = min(ent["offset"] + ent["length"] - head, end)
        if stop > start:
            out.append({**ent, "offset": start, "length": stop - start})
    return ParsedText(stripped, out)


# --------------------------------------------------------------------------------------- HTML


class _Bytes:
    """The UTF-8 source with TDLib's convention that reading past the end gives a NUL byte."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")

    def __getitem__(self, i: int) -> int:
        return self.data[i] if i < len(self.data) else 0


def _decode_ref(src: _Bytes, pos: int) -> tuple[int, int] | None:
    """TDLib's `decode_html_entity`: (code point, end position) or None if `&` is literal."""
    end = pos + 1
    code = 0
    if src[end] == ord("#"):
        end += 1
        if src[end] == ord("x"):
            end += 1
            while chr(src[end]) in "0123456789abcdefABCDEF" and src[end]:
                code = code * 16 + int(chr(src[end]), 16)
                end += 1
                if code >= 0x10FFFF:
                    return None
        else:
            while chr(src[end]).isdigit() and src[end] < 128:
                code = code * 10 + src[end] - ord("0")
                end += 1
                if code >= 0x10FFFF:
                    return None
        if code == 0:
            return None
    else:
        while src[end] and chr(src[end]).isascii() and chr(src[end]).isalpha():
            end += 1
        named = _NAMED_REFS.get(src.data[pos + 1 : end])
        if named is None:
            return None
        code = ord(named)
    return code, end + 1 if src[end] == ord(";") else end


def parse_html(text: str, *, strict: bool = True) -> ParsedText:
    """Telegram's HTML parse mode; raises `MarkupError` with TDLib's message on bad markup."""
    src = _Bytes(text)
    size = len(src.data)
    out: list[str] = []
    entities: list[dict] = []
    code_langs: dict[int, str] = {}  # id(entity) -> language of a <code class="language-x">
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 start, index in out
    utf16 = 0
    surrogate = False
    i = 0
    while i < size:
        c = src[i]
        if c == ord("&"):
            ref = _decode_ref(src, i)
            if ref is not None:
                code, i = ref
                surrogate |= 0xD800 <= code <= 0xDFFF
                out.append("\ufffd" if surrogate else chr(code))
                utf16 += 2 if code > 0xFFFF else 1
                continue
            if strict:
                raise MarkupError(
                    f'Unescaped "&" at byte offset {i}; write &amp; (offline fake\'s strict '
                    "rule: the Bot API docs require it, Telegram itself keeps the & literally)"
                )
        if c != ord("<"):
            # copy the run up to the next markup byte; both are ASCII, so never mid-character
            stops = [j for j in (src.data.find(b"<", i + 1), src.data.find(b"&", i + 1)) if j > 0]
            j = min(stops, default=size)
            chunk = src.data[i:j].decode("utf-8")
            out.append(chunk)
            utf16 += utf16_len(chunk)
            i = j
            continue
        begin = i
        i += 1
        if src[i] != ord("/"):
            while src[i] not in _SPACES and src[i] != ord(">"):
                i += 1
            if src[i] == 0:
                raise MarkupError(f"Unclosed start tag at byte offset {begin}")
            tag = src.data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _SUPPORTED_TAGS:
                raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while src[i] != ord(">"):
                while src[i] and src[i] in _SPACES:
                    i += 1
                if src[i] == ord(">"):
                    break
                name_begin = i
                while src[i] not in _SPACES and src[i] not in b"=>/\"'":
                    i += 1
                name = src.data[name_begin:i].decode("utf-8", "replace")
                if not name:
                    raise MarkupError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while src[i] and src[i] in _SPACES:
                    i += 1
                if src[i] != ord("="):
                    if src[i] == 0:
                        raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and name == "expandable":
                        argument = "1"
                    continue
                i += 1
                while src[i] and src[i] in _SPACES:
                    i += 1
                if src[i] == 0:
                    raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if src[i] not in b"'\"":
                    token_begin = i
                    while src[i] and (chr(src[i]).isalnum() and src[i] < 128 or src[i] in b".-"):
                        i += 1
                    value = src.data[token_begin:i].decode().lower()
                    if src[i] not in _SPACES and src[i] != ord(">"):
                        raise MarkupError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = src[i]
                    i += 1
                    buf = bytearray()
                    while src[i] != quote and src[i]:
                        if src[i] == ord("&") and (ref := _decode_ref(src, i)) is not None:
                            buf += chr(ref[0]).encode("utf-8", "surrogatepass")
                            i = ref[1]
                            continue
                        buf.append(src[i])
                        i += 1
                    if src[i] == quote:
                        i += 1
                    value = buf.decode("utf-8", "replace")
                if src[i] == 0:
                    raise MarkupError(f"Unclosed start tag at byte offset {begin}")
                argument = _tag_argument(tag, name, value, argument)
            if tag == "span" and argument != "spoiler":
                raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append((tag, argument, utf16, len(out)))
            i += 1
            continue
        # an end tag
        if not stack:
            raise MarkupError(f"Unexpected end tag at byte offset {begin}")
        while src[i] not in _SPACES and src[i] != ord(">"):
            i += 1
        end_name = src.data[begin + 2 : i].decode("utf-8", "replace").lower()
        while src[i] and src[i] in _SPACES:
            i += 1
        if src[i] != ord(">"):
            raise MarkupError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, start, out_start = stack.pop()
        if end_name and end_name != tag:
            raise MarkupError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        i += 1
        if utf16 > start:
            _close_tag(tag, argument, start, utf16 - start, "".join(out[out_start:]),
                       entities, code_langs)  # fmt: skip
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    if surrogate:
        raise MarkupError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _tag_argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return current


def _close_tag(tag: str, argument: str, offset: int, length: int, inner: str,
               entities: list[dict], code_langs: dict[int, str]) -> None:  # fmt: skip
    """Turn a closed tag into its entity (links with unusable URLs silently produce none)."""
    prev = entities[-1] if entities else None
    same_span = prev is not None and prev["offset"] == offset and prev["length"] == length
    span = {"offset": offset, "length": length}
    if tag in _SIMPLE_ENTITY:
        entities.append({"type": _SIMPLE_ENTITY[tag], **span})
    elif tag == "tg-emoji":
        if not argument.isdigit():
            raise MarkupError("Invalid custom emoji identifier specified")
        entities.append({"type": "custom_emoji", **span, "custom_emoji_id": argument})
    elif tag == "a":
        url = argument or inner
        if url.startswith("tg://user?id=") and url[13:].isdigit():
            entities.append({"type": "text_mention", **span, "user": {"id": int(url[13:]),
                             "is_bot": False, "first_name": inner}})  # fmt: skip
        elif url.startswith(("http://", "https://", "tg://")) or ("." in url and " " not in url):
            entities.append({"type": "text_link", **span, "url": url})
    elif tag == "pre":
        if same_span and prev["type"] == "code" and code_langs.get(id(prev)):
            entities[-1] = {"type": "pre", **span, "language": code_langs[id(prev)]}
        else:
            entities.append({"type": "pre", **span})
    elif tag == "code":
        if same_span and prev["type"] == "pre" and "language" not in prev and argument:
            prev["language"] = argument
        else:
            entities.append(ent := {"type": "code", **span})
            code_langs[id(ent)] = argument
    elif tag == "blockquote":
        entities.append({"type": "expandable_blockquote" if argument else "blockquote", **span})


# ----------------------------------------------------------------------------------- Markdown


class _Writer:
    """Collects output text and entities, tracking UTF-16 offsets and source byte offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict] = []
        self._bytes = [0]
        for ch in text:
            self._bytes.append(self._bytes[-1] + len(ch.encode("utf-8", "surrogatepass")))

    def byte(self, i: int) -> int:
        return self._bytes[i]

    def emit(self, ch: str) -> None:
        self.out.append(ch)
        self.utf16 += utf16_len(ch)

    def add(self, kind: str, start: int, **extra: str) -> None:
        if self.utf16 > start:
            self.entities.append({"type": kind, "offset": start, "length": self.utf16 - start,
                                  **extra})  # fmt: skip

    def result(self) -> ParsedText:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), self.entities)


_MD2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD2_NAMES = {"bold": "Bold", "italic": "Italic", "underline": "Underline",
              "strikethrough": "Strikethrough", "spoiler": "Spoiler", "text_link": "TextUrl",
              "code": "Code", "pre": "Pre"}  # fmt: skip
_MD2_MARKS = {"bold": "*", "italic": "_", "underline": "__", "strikethrough": "~",
              "spoiler": "||"}  # fmt: skip


def parse_markdown_v2(text: str) -> ParsedText:
    """MarkdownV2, approximately: every reserved character outside an entity marker must be
    escaped (the error production hits most), and every entity must be closed."""
    w = _Writer(text)
    stack: list[tuple[str, int, int]] = []  # kind, utf16 start, source index
    languages: dict[int, str] = {}  # source index of a ``` -> its language line
    quote_start: int | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        top = stack[-1][0] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            w.emit(text[i + 1])
            i += 2
            continue
        if top in ("code", "pre"):
            fence = "```" if top == "pre" else "`"
            if text.startswith(fence, i):
                kind, start, at = stack.pop()
                language = languages.pop(at, "")
                w.add(kind, start, **({"language": language} if language else {}))
                i += len(fence)
            else:
                w.emit(c)
                i += 1
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = w.utf16
            i += 1
            continue
        if c == "\n" and quote_start is not None and not text.startswith(">", i + 1):
            w.add("blockquote", quote_start)
            quote_start = None
        if c not in _MD2_RESERVED:
            w.emit(c)
            i += 1
            continue
        closed = False
        if top in _MD2_MARKS and text.startswith(_MD2_MARKS[top], i):
            if not (top == "italic" and text.startswith("__", i) and len(stack) > 1
                    and stack[-2][0] == "underline"):  # fmt: skip
                kind, start, _ = stack.pop()
                w.add(kind, start)
                i += len(_MD2_MARKS[kind])
                closed = True
        elif top == "text_link" and c == "]":
            kind, start, _ = stack.pop()
            i += 1
            url = ""
            if i < n and text[i] == "(":
                end = text.find(")", i)
                if end < 0:
                    raise MarkupError(f"Can't find end of a url at byte offset {w.byte(i)}")
                url = text[i + 1 : end].replace("\\)", ")").replace("\\\\", "\\")
                i = end + 1
            if url:
                w.add("text_link", start, url=url)
            closed = True
        if closed:
            continue
        if text.startswith("__", i):
            kind, width = "underline", 2
        elif text.startswith("||", i):
            kind, width = "spoiler", 2
        elif text.startswith("```", i):
            kind, width = "pre", 3
            newline = text.find("\n", i + 3)
            if newline > 0 and text[i + 3 : newline].isidentifier():
                languages[i] = text[i + 3 : newline]
                width = newline - i + 1  # a language name line
        else:
            kind = {"*": "bold", "_": "italic", "~": "strikethrough", "[": "text_link",
                    "`": "code"}.get(c, "")  # fmt: skip
            width = 1
        if not kind:
            raise MarkupError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        stack.append((kind, w.utf16, i))
        i += width
    if stack:
        kind, _, at = stack[-1]
        raise MarkupError(
            f"Can't find end of {_MD2_NAMES[kind]} entity at byte offset {w.byte(at)}"
        )
    if quote_start is not None:
        w.add("blockquote", quote_start)
    return w.result()


def parse_markdown(text: str) -> ParsedText:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url); no nesting."""
    w = _Writer(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            w.emit(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            w.emit(c)
            i += 1
            continue
        mark = "```" if text.startswith("```", i) else ("]" if c == "[" else c)
        end = text.find(mark, i + (3 if mark == "```" else 1))
        if end < 0:
            raise MarkupError(f"Can't find end of the entity starting at byte offset {w.byte(i)}")
        inner = text[i + (3 if mark == "```" else 1) : end]
        start = w.utf16
        for ch in inner:
            w.emit(ch)
        i = end + len(mark)
        if c == "[":
            url = ""
            if i < n and text[i] == "(" and (close := text.find(")", i)) > 0:
                url, i = text[i + 1 : close], close + 1
            w.add("text_link", start, url=url or inner)
        else:
            w.add({"*": "bold", "_": "italic", "`": "code"}.get(mark, "pre"), start)
    return w.result()
