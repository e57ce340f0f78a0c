"""Results folders: claimed by one command, written atomically, completed by a manifest written last.

The rules (also in ``docs/user-guide.md``, "Output folders"):

- Every file is written to a temporary name beside its final name and renamed into place, so a table is
  either complete or absent, never truncated (a full disk or a kill leaves no half-written table).
- ``manifest.json`` lists the command, the archsim version and every file the command wrote. It is written
  first as *incomplete* and rewritten as *complete* after the last file: a folder is a finished result only
  when its manifest says so. ``archsim report`` reads only complete folders, and only the files their
  manifest names (stale files of an earlier run are never mistaken for this run's).
- A command writes into a folder that does not exist, an empty folder, or a folder of the same command:
  resumable commands (``accuracy``, ``timing sweep-gap``, ``sweep``, and ``run`` split into line ranges or
  schemes: ``--shards``, ``--workers``, ``--scheduler``) pick up their saved state there (an
  interrupted run finishes, a finished one is extended or rewritten; the saved state is kept, and the earlier
  results are listed as stale, then removed when the run completes if it did not write them again, so that no
  table or figure of the earlier run stays listed as the new run's, while a rerun that fails first leaves them
  on disk), and refuse a complete folder that holds no saved state (a run that was not split); the others
  start over in an interrupted folder and refuse a *complete* one. ``--overwrite`` starts over in any archsim
  folder (it first removes the files, stale results and saved state its manifest names). A folder of another command is refused, and so is
  a non-empty folder that holds no manifest (archsim never deletes files it did not write).
- A write error (disk full, no permission) is one error naming the path.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from archsim.errors import ArchsimError

MANIFEST = "manifest.json"


#: What a saved figure's file records about its making, by format: nothing that changes from run to run
#: (matplotlib's PDF writer stamps the time otherwise), so the same figure gives the same bytes.
FIGURE_METADATA = {"pdf": {"CreationDate": None}}


#: Resolution of the PNG figures archsim writes, dots per inch.
FIGURE_DPI = 150
#: The files of every figure archsim writes, in the order they are saved.
FIGURE_FORMATS = ("png", "pdf")


def save_figure(fig, target, fmt: str, dpi: int) -> None:
    """``fig`` saved to ``target`` (a path or a binary file) as ``fmt`` at ``dpi``, reproducibly."""
    meta = FIGURE_METADATA.get(fmt)
    fig.savefig(target, dpi=dpi, format=fmt, **({"metadata": meta} if meta else {}))  # pgf takes no metadata


def in_formats(fig, formats: tuple[str, ...], save: Callable[[str], Any]) -> list:
    """``save(ext)`` for each of ``formats`` in order: the figure's layout is computed by the first save and
    kept for the others (it is the same in every format, and a constrained layout costs a third of a
    figure's drawing); the figure's layout engine is restored afterwards."""
    engine = fig.get_layout_engine()
    try:
        out = []
        for ext in formats:
            out.append(save(ext))
            fig.set_layout_engine("none")
        return out
    finally:
        fig.set_layout_engine(engine)


def lay_out(fig, dpi: int) -> None:
    """Compute ``fig``'s layout as a save at ``dpi`` would, and keep it: the figure has no layout engine
    afterwards, so saves in any format (in this process or a forked one) draw that layout unchanged, the
    same bytes as :func:`in_formats` gives."""
    engine = fig.get_layout_engine()
    if engine is not None and fig.axes:  # as Figure.draw runs it
        own = fig.dpi
        fig.dpi = dpi   # the layout measures text with a renderer at the figure's dpi, as savefig sets it
        try:
            engine.execute(fig)
        except ValueError:  # Figure.draw ignores it too (a layout that cannot be made is left out)
            pass
        finally:
            fig.dpi = own
    fig.set_layout_engine("none")


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` for a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArchsimError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None if it has none; an unreadable one is an error naming it."""
    p = Path(folder) / MANIFEST
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            raise ValueError("not an archsim manifest")
        return data
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchsimError(f"{p}: unreadable manifest ({exc})") from None


class OutputFolder:
    """The folder a command writes its results into (see the module docstring for the rules).

    ``command``: the command's name (``"run"``, ``"accuracy"``, ...); ``resumable``: a folder of the same
    command with saved state is resumed (its saved state kept; its earlier results listed as stale until
    :meth:`complete` removes those not written again);
    ``state``: files or folders holding that saved state, removed with the rest on ``--overwrite``.
    """

    def __init__(self, path: str | os.PathLike, command: str, *, overwrite: bool = False, resumable: bool = False,
                 state: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.command = command
        self.files: list[str] = []
        self.state = list(state)
        self.stale: list[str] = []  # an earlier run's results in a resumed folder, removed at completion
        self._claim(overwrite, resumable)

    # -- claiming ------------------------------------------------------------------------------
    def _claim(self, overwrite: bool, resumable: bool) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise ArchsimError(f"{p}: exists and is not a folder")
        entries = list(p.iterdir()) if p.exists() else []
        manifest = read_manifest(p) if entries else None
        if entries and manifest is None:
            raise ArchsimError(f"{p}: not empty and not an archsim results folder (no {MANIFEST}); choose an "
                               "empty or new folder")
        if manifest is not None:
            same = manifest.get("command") == self.command
            what = "the complete results" if manifest.get("complete") else "an interrupted run"
            if overwrite:
                self._clear(manifest)
            elif not same:
                raise ArchsimError(f"{p}: holds {what} of `archsim {manifest.get('command')}`; choose a new folder "
                                   "or pass --overwrite")
            elif resumable:
                if manifest.get("complete") and not manifest.get("state"):
                    raise ArchsimError(f"{p}: holds the complete results of `archsim {self.command}` without saved "
                                       "state to resume from (a run that was not split); choose a new folder or "
                                       "pass --overwrite")
                # resume (or extend) from the saved state. The earlier results are no longer listed as results
                # (stale): the run writes its own, and removes at its completion those it did not rewrite, so
                # that none stays listed as its own, while a rerun that fails first leaves them on disk
                self.state = list(dict.fromkeys([*manifest.get("state", []), *self.state]))
                self.stale = [f for f in dict.fromkeys([*manifest.get("stale", []), *manifest["files"]])
                              if f not in self.state]
            elif manifest.get("complete"):
                raise ArchsimError(f"{p}: holds the complete results of `archsim {self.command}`; choose a new "
                                   "folder or pass --overwrite")
            else:  # an interrupted run of the same command: start over
                self._clear(manifest)
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchsimError(f"{p}: cannot create the folder: {exc.strerror or exc}") from None
        self._write_manifest(complete=False)

    def _clear(self, manifest: dict[str, Any]) -> None:
        self._remove([*manifest.get("files", []), *manifest.get("stale", []), *manifest.get("state", [])])
        (self.path / MANIFEST).unlink(missing_ok=True)

    def _remove(self, names: list[str]) -> None:
        """Remove these files or folders of the manifest (never anything outside the folder)."""
        for name in names:
            target = (self.path / name).resolve()
            if self.path.resolve() not in target.parents:
                continue
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)

    # -- writing ----------------------------------------------------------------------------------
    def _add(self, path: Path) -> Path:
        name = str(path.relative_to(self.path))
        if name not in self.files:
            self.files.append(name)
        return path

    def write(self, name: str, write: Callable[[Path], None]) -> Path:
        """Write the file ``name`` atomically with ``write(tmp_path)``."""
        return self._add(atomic_write(self.path / name, write))

    def table(self, df, name: str) -> list[Path]:
        """``name.csv`` and ``name.parquet``."""
        return [self.write(f"{name}.csv", lambda t: df.to_csv(t, index=False)),
                self.write(f"{name}.parquet", lambda t: df.to_parquet(t, index=False))]

    def figure(self, fig, name: str, *, dpi: int = FIGURE_DPI, formats: tuple[str, ...] = FIGURE_FORMATS) -> list[Path]:
        """``name.png`` and ``name.pdf`` (or the given ``formats``); a pyplot figure is closed afterwards
        (a plain ``Figure``, as :mod:`plots` makes, needs no closing, and pyplot is not imported for it)."""
        try:
            return in_formats(fig, formats, lambda ext: self.write(f"{name}.{ext}",
                                                                   lambda t: save_figure(fig, t, ext, dpi)))
        finally:
            if fig.canvas.manager is not None:   # made by pyplot: release it
                import matplotlib.pyplot as plt

                plt.close(fig)

    def csv(self, df, name: str) -> Path:
        """``name.csv`` only."""
        return self.write(f"{name}.csv", lambda t: df.to_csv(t, index=False))

    def text(self, name: str, text: str) -> Path:
        return self.write(name, lambda t: t.write_text(text, encoding="utf-8"))

    def add_state(self, name: str) -> None:
        """Record a file or folder of saved state (removed with the results on ``--overwrite``)."""
        if name not in self.state:
            self.state.append(name)
            self._write_manifest(complete=False)

    def complete(self, **info: Any) -> Path:
        """Write the manifest as complete (call after the last file); an earlier run's results that this one
        did not rewrite (a resumed folder) are removed first."""
        self._remove([f for f in self.stale if f not in self.files and f not in self.state])
        self.stale = []
        return self._write_manifest(complete=True, **info)

    def _write_manifest(self, *, complete: bool, **info: Any) -> Path:
        import archsim

        data = {"command": self.command, "archsim_version": archsim.__version__, "complete": complete,
                "files": sorted(self.files), "state": self.state, **info}
        if self.stale:
            data["stale"] = sorted(self.stale)
        return atomic_write(self.path / MANIFEST,
                            lambda t: t.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8"))


def complete_files(folder: str | os.PathLike) -> list[str]:
    """The files of a complete results folder (its manifest's list); an error naming the folder otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArchsimError(f"{folder}: no such results folder")
    manifest = read_manifest(folder)
    if manifest is None:
        raise ArchsimError(f"{folder}: no {MANIFEST} (not an archsim results folder, or written by an archsim "
                           "from before result manifests)")
    if not manifest.get("complete"):
        raise ArchsimError(f"{folder}: incomplete results (the command that wrote it did not finish)")
    missing = [f for f in manifest["files"] if not (folder / f).is_file()]
    if missing:
        raise ArchsimError(f"{folder}: {missing[0]} is named by {MANIFEST} but missing")
    return list(manifest["files"])
