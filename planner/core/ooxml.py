"""The Office Open XML pieces every .xlsx writer shares: namespaces, XML text cleaning and the
shared-strings table.

The Excel renderer (`planner.render.xlsx`) and the input workbook writer
(`planner.inputs.workbook_writer`) use them. It lives in core, not in render, so that an
input-side writer may use it without importing the renderers.
"""

from __future__ import annotations

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
NS = {"m": MAIN_NS, "r": REL_NS, "p": PKG_REL_NS}

# One pass in C: escape XML's specials and drop the characters XML 1.0 cannot hold.
_XML_TEXT = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\ufffe": None, "\uffff": None}
    | {chr(c): None for c in range(32) if chr(c) not in "\t\n\r"}
)


# Column widths (Excel's units, about one character each) that fit across an A4 landscape page
# at a scale that keeps 11 pt text at 7 pt or more; a wider sheet prints over more pages across,
# its first two columns (the ID and name) repeated on each. The report templates
# (templates/make_report_template.py) and the input template (planner.inputs.workbook_writer) print by it.
READABLE_WIDTH = 185


def page_width(widths: list[float], across: int) -> float:
    """What each of `across` pages prints of a sheet with these column widths, the first two repeated after the first."""
    return (sum(widths) + (across - 1) * sum(widths[:2])) / across


def pages_across(widths: list[float]) -> int:
    """The fewest pages across that keep the sheet's text readable (READABLE_WIDTH a page)."""
    return next(k for k in range(1, 50) if page_width(widths, k) <= READABLE_WIDTH)


def xml_text(text: str) -> str:
    """Text safe inside an XML element: &, < and > escaped, characters XML 1.0 cannot hold dropped."""
    return text.translate(_XML_TEXT)


class SharedStrings:
    """The workbook's table of texts: each distinct text stored once, cells refer to it by index.

    A large report repeats stage, channel and team names thousands of times; the table
    halves the sheet XML compared with inline text. Indexes follow first use, so the same
    cells give the same table, byte for byte.
    """

    PART = "xl/sharedStrings.xml"
    CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"

    def __init__(self) -> None:
        self.indexes: dict[str, int] = {}

    def index(self, text: str) -> int:
        index = self.indexes.get(text)
        if index is None:
            index = self.indexes[text] = len(self.indexes)
        return index

    def xml(self) -> bytes:
        # count is the number of distinct texts too: Excel and LibreOffice recount references on load.
        items = "".join(f'<si><t xml:space="preserve">{xml_text(text)}</t></si>' for text in self.indexes)
        count = len(self.indexes)
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN_NS}" count="{count}" '
                f'uniqueCount="{count}">{items}</sst>').encode("utf-8")

    @classmethod
    def register(cls, parts: dict[str, bytes]) -> None:
        """Make sure the package declares the table (a workbook saved by openpyxl may have none)."""
        types = parts["[Content_Types].xml"].decode("utf-8")
        if "/xl/sharedStrings.xml" not in types:
            types = types.replace("</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{cls.CONTENT_TYPE}"/></Types>')
            parts["[Content_Types].xml"] = types.encode("utf-8")
        rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
        if cls.RELATIONSHIP not in rels:
            rels = rels.replace("</Relationships>", f'<Relationship Id="rIdPlannerStrings" Type="{cls.RELATIONSHIP}" Target="sharedStrings.xml"/></Relationships>')
            parts["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
