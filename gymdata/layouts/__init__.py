"""Corpus file layouts that gymdata writes in more than one place, each written by one module.

The core cannot import an edge package (``exporters``), yet the sample generator
(:mod:`gymdata.sample`) writes the same layouts as the exporters. So the *file format* of a layout
(names, headers, cell values, byte-stable writers) lives here, in the core, and everything that
writes that layout calls it: the sample generator, the exporter plugin, and the fake corpora of
the tests. What to write (which clips, labels, frames) stays with each caller.

* :mod:`gymdata.layouts.alexgym`: ALEX-GYM-1 (spreadsheets, pose JSON, frame folders, subjects.csv);
  read by :mod:`importers.alexgym`.
"""
