"""The static site, built as a pipeline (as Pelican and MkDocs do).

- `pages`: which pages exist, and which pages a change touches (pure code);
- `render`: a page to HTML with the Jinja2 templates;
- `publish`: writing the bytes somewhere (a local folder), skipping unchanged ones;
- `builder`: the full build and the incremental rebuild, the same code over
  a different set of pages.
"""
