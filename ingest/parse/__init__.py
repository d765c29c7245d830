"""Format parsers and the structure they recover, one concept per module.

* ``meta``    metadata: front matter checks, ``NAME.meta.yaml`` sidecars, derived fields
* ``pdf``     layout-aware PDF -> Markdown (pdfplumber): headings, columns, running heads, tables
* ``html``    HTML -> Markdown (BeautifulSoup): main content, tables, reference links
* ``tables``  Markdown pipe tables -> one passage per row, cells prefixed by their header
* ``refs``    reference markers stripped (kept as metadata); non-answer sections
* ``recs``    numbered recommendations and their strength

Every parser returns Markdown (``#`` headings, ``- `` items, ``|`` tables) so that the
chunker sees one format whatever the file was.
"""
