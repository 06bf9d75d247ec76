"""HTML to PDF with WeasyPrint, fetching nothing but data: URIs. A pack's images are the firm's
logo (a data: URI) and inline SVG, so any other URL in the HTML is refused rather than fetched:
no request to the network or the file system from a worker building a pack."""

from __future__ import annotations

import logging

# WeasyPrint logs each rendering step at INFO ("Step 2 - Fetching and parsing CSS"): noise in
# a worker's log for every pack.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def html_to_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint parses its stylesheets on import, which every web process and
    # management command would pay for otherwise.
    import weasyprint
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=5)
    return weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf()
