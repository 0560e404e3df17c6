"""``gymdata app NAME``: the FiftyOne App on a pushed dataset, with the labelling plugin installed.

The plugin package (``annotators/plugin/``) is linked into FiftyOne's plugins folder
(``$FIFTYONE_PLUGINS_DIR``, FiftyOne's ``plugins_dir``, default ``~/fiftyone/__plugins__``) as
``gymdata-annotate``; the link points at the installed code, so upgrading gymdata upgrades the
plugin. The dataset is pushed first if FiftyOne does not have it yet.

Databases: by default FiftyOne's embedded database (a ``mongod`` it starts itself). With
``--database-uri`` (or ``$FIFTYONE_DATABASE_URI``) every annotator's App works on one shared
MongoDB server: each runs ``gymdata app NAME --database-uri mongodb://host:27017 --annotator ME``
and their edits land in the same dataset, each with its author (see :mod:`annotators.foapi` for why
simultaneous edits are safe).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from annotators import foapi
from gymdata.errors import GymdataError

PLUGIN_SOURCE = Path(__file__).resolve().parent / "plugin"
PLUGIN_LINK = "gymdata-annotate"


def _serve(address: str, port: int):
    """Start FiftyOne's App server on ``address:port`` (FiftyOne's own server process, run under its
    service wrapper, which stops it if this process dies); returns the running service.

    No Python App session is opened: a session sends its starting state (no sample open) to every
    browser whenever its event stream (re)connects, which on a loaded machine closed the clip an
    annotator had open; and ``fo.launch_app`` quietly joins whatever App already serves the port,
    so a second annotator's edits would be stamped by the first one's server.

    Raises:
        GymdataError: If the port is taken, or the server does not come up.
    """
    import socket

    import fiftyone.core.service as fos

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            raise GymdataError(f"cannot serve the App on {address}:{port} ({exc.strerror})",
                               hint="another App (or program) uses it: pass --port with a free port") from None
    try:
        return fos.ServerService(port, address=address, do_not_track=True)
    except fos.ServiceListenTimeout:
        raise GymdataError(f"the App server did not start on {address}:{port} within 60 s",
                           hint="see its messages above; try again on a less busy machine") from None


def install_plugin(plugins_dir: str | Path | None = None) -> Path:
    """Link the plugin package into FiftyOne's plugins folder; returns the link.

    Args:
        plugins_dir: The plugins folder (default FiftyOne's ``plugins_dir``).

    Raises:
        GymdataError: If something other than gymdata's link is in the way.
    """
    fo = foapi.import_fiftyone()
    folder = Path(plugins_dir or fo.config.plugins_dir).expanduser().absolute()
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / PLUGIN_LINK
    if link.is_symlink():
        if link.resolve() == PLUGIN_SOURCE:
            return _use(fo, folder, link)
        link.unlink()  # a link left by another checkout or version of gymdata
    elif link.exists():
        raise GymdataError(f"{link} exists and is not gymdata's plugin link", hint="move it away and try again")
    link.symlink_to(PLUGIN_SOURCE, target_is_directory=True)
    return _use(fo, folder, link)


def _use(fo, folder: Path, link: Path) -> Path:
    fo.config.plugins_dir = str(folder)
    os.environ["FIFTYONE_PLUGINS_DIR"] = str(folder)  # for the App server, a child process
    return link


def _stop_children() -> None:
    """Stop the App server and any other process FiftyOne started for us."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        child.terminate()
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops the App like Ctrl+C: the server child is stopped too


def launch(name: str, *, fo_name: str | None = None, database_uri: str | None = None, address: str = "127.0.0.1",
           port: int = 5151, annotator: str | None = None, plugins_dir: str | None = None,
           criteria_from: tuple[str, ...] | list[str] = (), blind: bool | None = None, progress: bool = True,
           echo=print) -> None:
    """Serve the App until interrupted (Ctrl+C or SIGTERM), then stop the server it started.

    Args:
        name: Store dataset.
        fo_name: FiftyOne dataset (default ``name``); pushed first if missing.
        database_uri: Shared MongoDB URI (default FiftyOne's configuration or embedded database).
        address: Address to serve on (``0.0.0.0`` to let colleagues connect).
        port: Port to serve on.
        annotator: Default annotator name for this App's sessions (default ``$GYMDATA_ANNOTATOR`` or
            the OS user; each session can change it in the panel).
        plugins_dir: FiftyOne plugins folder to install the plugin into.
        criteria_from: When pushing first: other store datasets whose criteria to offer (as push).
        blind: When pushing first: show only the annotator's own and the imported labels (blind double
            labelling). Default: blind when ``fo_name`` differs from ``name`` (an annotator's own copy).
        progress: Show progress bars while pushing.
        echo: Where to print status lines.
    """
    if annotator:
        os.environ["GYMDATA_ANNOTATOR"] = annotator  # read by the plugin in the App server
    fo = foapi.import_fiftyone(database_uri)
    install_plugin(plugins_dir)
    fo_name = fo_name or name
    if not fo.dataset_exists(fo_name):
        from annotators.labels import default_annotator
        from annotators.push import push

        blind_for = (annotator or default_annotator()) if (fo_name != name if blind is None else blind) else None
        echo(f"FiftyOne has no dataset {fo_name!r} yet: pushing {name!r} first"
             + (f" (blind: {blind_for}'s own and the imported labels only)" if blind_for else ""))
        for line in push(name, fo_name=fo_name, criteria_from=criteria_from, progress=progress,
                         blind_for=blind_for).lines():
            echo(line)
    dataset = foapi.load_fo_dataset(fo_name, store_name=name)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server = _serve(address, port)
        echo(f"App on {foapi.database_label()}: http://{address}:{port}/datasets/{dataset.name} "
             f"(open a clip, then the 'Gym labels' tab; Ctrl+C stops)")
        code = server.wait()
        if code:
            raise GymdataError(f"the App server on {address}:{port} stopped (exit status {code})",
                               hint="see its messages above")
    except KeyboardInterrupt:
        echo("stopping the App")
    finally:
        _stop_children()
