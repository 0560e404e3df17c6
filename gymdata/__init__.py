"""gymdata: one pipeline for fitness action-quality data.

Core modules: :mod:`gymdata.schema` (the unified tables), :mod:`gymdata.store` (Parquet datasets),
:mod:`gymdata.media` (probe/decode/encode), :mod:`gymdata.runner` (parallel, resumable jobs),
:mod:`gymdata.registry` (plugins), :mod:`gymdata.cli` (the ``gymdata`` command).
"""

__version__ = "0.1.0"
