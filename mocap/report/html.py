"""A small static HTML writer for the report: escaped text, tables, figures, one inline style sheet.

Nothing is fetched when the page opens: no scripts, no web fonts, images by relative path.
"""

from __future__ import annotations

from html import escape

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.warn { color: #a15c00; } .bad { color: #b00020; font-weight: bold; } .muted { color: #777; }
figure { display: inline-block; margin: 0.3em; } figcaption { font-size: 0.8em; color: #555; }
img { max-width: 100%; border: 1px solid #ddd; } pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
"""


def text(value) -> str:
    return escape(str(value))


def cell(value, css: str = "") -> str:
    """A table cell: numbers right-aligned; a pre-built (value, css) pair keeps its class."""
    if isinstance(value, tuple):
        value, css = value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    classes = " ".join(c for c in ("num" if number else "", css) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{text(value)}</td>"


def table(headers, rows) -> str:
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(src: str, caption: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return (f'<figure><img src="{escape(src, quote=True)}" alt="{text(caption)}"{size}>'
            f"<figcaption>{text(caption)}</figcaption></figure>")


def paragraph(content: str, css: str = "") -> str:
    attr = f' class="{css}"' if css else ""
    return f"<p{attr}>{text(content)}</p>"


def section(title: str, *parts: str) -> str:
    return f"<section><h2>{text(title)}</h2>{''.join(parts)}</section>"


def page(title: str, *sections: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{text(title)}</title><style>{STYLE}</style></head><body><h1>{text(title)}</h1>"
            + "\n".join(sections) + "</body></html>\n")
