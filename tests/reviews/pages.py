"""What a test reads of a review page: its text, table rows (per data-testid), links, flashes,
errors, badges and the buttons it offers."""

from __future__ import annotations

from html.parser import HTMLParser

INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "strong", "small", "span", "label"})


def squash(text: str) -> str:
    return " ".join(text.split())


class Page(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup
        self.parts: list[str] = []
        self.rows: list[list[str]] = []  # body rows of every table (not those in a thead)
        self.tables: dict[str, list[list[str]]] = {}  # data-testid of a table -> its body rows
        self.testids: dict[str, str] = {}  # data-testid -> the element's text
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.flashes: list[tuple[str, str]] = []  # (category, text)
        self.errors: list[str] = []  # form errors and errors beside fields
        self.buttons: list[tuple[str, str]] = []  # (formaction or its form's action, text)
        self._open: list[tuple[str, str, str, list[str]]] = []  # (tag, what, extra, text)
        self._table: str | None = None
        self._in_head = False
        self._form_action = ""
        self.feed(markup)
        self.close()
        self.text = squash("".join(self.parts))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        testid = a.get("data-testid")
        if tag == "table":
            self._table = testid or ""
            self.tables.setdefault(self._table, [])
        if tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.rows.append([])
            if self._table is not None:
                self.tables[self._table].append(self.rows[-1])
        elif tag in ("td", "th") and not self._in_head:
            self._open.append((tag, "cell", "", []))
        elif tag == "a":
            self._open.append((tag, "link", a.get("href", ""), []))
        elif tag == "p" and "flash" in classes:
            category = next((c[6:] for c in classes if c.startswith("flash-")), "")
            self._open.append((tag, "flash", category, []))
        elif (tag == "p" and "form-error" in classes) or (
            tag == "small" and "field-error" in classes
        ):
            self._open.append((tag, "error", "", []))
        elif tag == "form":
            self._form_action = a.get("action", "")
        elif tag == "button":
            self._open.append((tag, "button", a.get("formaction") or self._form_action, []))
        if testid and tag != "table":
            self._open.append((tag, "testid", testid, []))

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE:
            self.parts.append(" ")
        if tag == "thead":
            self._in_head = False
        if tag == "table":
            self._table = None
        while self._open and self._open[-1][0] == tag:
            _tag, what, extra, text = self._open.pop()
            content = squash("".join(text))
            if what == "cell" and self.rows:
                self.rows[-1].append(content)
            elif what == "link":
                self.links.append((extra, content))
            elif what == "flash":
                self.flashes.append((extra, content))
            elif what == "error":
                self.errors.append(content)
            elif what == "button":
                self.buttons.append((extra, content))
            elif what == "testid":
                self.testids[extra] = content
            if what != "testid" or not self._open or self._open[-1][0] != tag:
                break

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        for _tag, _what, _extra, text in self._open:
            text.append(data)

    def table(self, testid: str) -> list[list[str]]:
        return self.tables.get(testid, [])

    def button_texts(self, under: str = "/reviews/") -> list[str]:
        """The buttons that post to addresses under `under` (not the header's)."""
        return [text for action, text in self.buttons if action.startswith(under)]


def read(response) -> Page:
    return Page(response.get_data(as_text=True))
