"""Click commands of the core, apart from the library code they call.

The ``gymdata`` group itself and its small commands are in :mod:`gymdata.cli`; commands with
their own options live here, one module each: :mod:`~gymdata.commands.imports` (``gymdata import
NAME``, generated from each importer's :class:`~gymdata.importer.Importer` spec),
:mod:`~gymdata.commands.split` (``gymdata split``) and :mod:`~gymdata.commands.report`
(``gymdata report``).
"""
