"""Fake-corpus generators: each writes a small corpus with the real layout, names, headers and quirks.

Every generator returns what an import of the corpus must find, so the tests can compare counts.
"""
