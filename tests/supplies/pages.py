"""What a test reads of an HTML page: its text, its tables, the errors shown beside fields and
at the top of forms, and the text of elements marked with data-testid."""

from __future__ import annotations

from html.parser import HTMLParser

INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "strong"})
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


def squash(text: str) -> str:
    return " ".join(text.split())


class Page(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}  # data-testid (or table1, table2...) -> rows
        self.marked: dict[str, str] = {}  # data-testid -> text
        self.errors: dict[str, str] = {}  # field id -> the error shown beside it
        self.form_errors: list[str] = []  # errors at the top of a form
        self.options: dict[str, list[str]] = {}  # select id -> the values it offers
        # select id -> (value, text, the label of its <optgroup> or None) of each option
        self.choices: dict[str, list[tuple[str, str, str | None]]] = {}
        self.selected: dict[str, str] = {}  # select id -> the value it shows chosen
        self.inputs: dict[str, str] = {}  # input id -> its value
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self._tables: list[str] = []
        self._select: str | None = None
        self._optgroup: str | None = None
        self.feed(markup)
        self.close()
        self.text = squash("".join(self.parts))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self._separate(tag)
        if tag == "table":
            name = attributes.get("data-testid") or f"table{len(self.tables) + 1}"
            self.tables[name] = []
            self._tables.append(name)
        elif tag == "tr" and self._tables:
            self.tables[self._tables[-1]].append([])
        elif tag == "select":
            self._select = attributes.get("id", "")
            self.options[self._select] = []
            self.choices[self._select] = []
            self.selected[self._select] = ""
        elif tag == "optgroup":
            self._optgroup = attributes.get("label")
        elif tag == "option" and self._select is not None:
            self.options[self._select].append(attributes.get("value", ""))
            if "selected" in attributes:
                self.selected[self._select] = attributes.get("value", "")
        elif tag == "input" and attributes.get("id"):
            self.inputs[attributes["id"]] = attributes.get("value", "")
        if tag not in VOID:
            self._open.append((tag, attributes, []))

    def handle_endtag(self, tag: str) -> None:
        self._separate(tag)
        if tag in VOID or all(open_tag != tag for open_tag, _a, _t in self._open):
            return
        while True:
            open_tag, attributes, text = self._open.pop()
            if open_tag == tag:
                break
        content = squash("".join(text))
        if tag in ("td", "th") and self._tables and self.tables[self._tables[-1]]:
            self.tables[self._tables[-1]][-1].append(content)
        elif tag == "table":
            self._tables.pop()
        elif tag == "select":
            self._select = None
        elif tag == "optgroup":
            self._optgroup = None
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            self.choices[self._select].append((value, content, self._optgroup))
        if "data-testid" in attributes:
            self.marked[attributes["data-testid"]] = content
        if attributes.get("id", "").endswith("-error"):
            self.errors[attributes["id"].removesuffix("-error")] = content
        if tag == "p" and "form-error" in attributes.get("class", "").split():
            self.form_errors.append(content)

    def _separate(self, tag: str) -> None:
        if tag not in INLINE:
            self.handle_data(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        for _tag, _attributes, text in self._open:
            text.append(data)

    def choice(self, select_id: str, value: str) -> str:
        """The text of the option of `select_id` whose value is `value`."""
        return next(text for v, text, _group in self.choices[select_id] if v == value)

    def rows(self, table: str | None = None) -> list[list[str]]:
        """The rows of one table (by data-testid or order), or of every table."""
        if table is not None:
            return self.tables[table]
        return [row for rows in self.tables.values() for row in rows]

    def row(self, first_cell: str, table: str | None = None) -> list[str]:
        """The first row whose first cell is `first_cell`."""
        return next(row for row in self.rows(table) if row and row[0] == first_cell)


def read(response) -> Page:
    return Page(response.get_data(as_text=True))
