"""An org's imported metadata, compiled once: the tables csdl.build made from a `$metadata` file (and its
EntityDefinitions export) are pickled into the emulator's cache directory and read back on the next start while the
files stay the same. The cache key is the files' resolved paths, sizes, modification times and content hashes, the
emulator's version and the model's shape; any difference rebuilds. Also: where the files of a metadata directory are,
and how imported tables join a catalog."""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from . import csdl, details
from .catalog import SHIPPED, Catalog
from .model import Attribute, EntityKey, Option, OptionSet, Table

CSDL_FILE = "metadata.xml"  # the two files of a metadata directory (what `metadata pull --out DIR` writes)
DETAILS_FILE = "entitydefinitions.json"
CACHE_ENV = "EMULATOR_METADATA_CACHE"  # the cache directory; default .emulator/cache/metadata
FORMAT = 1  # bump when the pickled shape changes in a way the model's field names do not show


class MetadataLoadError(ValueError):
    """A metadata file (or directory) the emulator cannot load; one line naming the file, line and element."""


@dataclass(frozen=True)
class Source:
    document: Path
    details: Path | None = None


def source(path: str | Path, details_path: str | Path | None = None) -> Source:
    """`path` is a $metadata file, or a directory holding metadata.xml (and, optionally, entitydefinitions.json)."""
    p = Path(path)
    if p.is_dir():
        document = p / CSDL_FILE
        if not document.is_file():
            raise MetadataLoadError(f"{p}: a metadata directory holds {CSDL_FILE} (and optionally {DETAILS_FILE}); "
                                    f"{CSDL_FILE} is missing")
        if details_path is None and (p / DETAILS_FILE).is_file():
            details_path = p / DETAILS_FILE
        p = document
    elif not p.is_file():
        raise MetadataLoadError(f"{p}: no such metadata file or directory")
    if details_path is not None and not Path(details_path).is_file():
        raise MetadataLoadError(f"{details_path}: no such EntityDefinitions file")
    return Source(p.resolve(), Path(details_path).resolve() if details_path is not None else None)


def _model_shape() -> tuple:
    return tuple(tuple(f.name for f in dataclasses.fields(c)) for c in (Table, Attribute, EntityKey, Option, OptionSet))


def _file_key(path: Path) -> tuple:
    stat = path.stat()
    digest = hashlib.blake2b(path.read_bytes(), digest_size=20).hexdigest()
    return str(path), stat.st_size, stat.st_mtime_ns, digest


def cache_key(src: Source) -> tuple:
    return (FORMAT, __version__, _model_shape(), tuple(t.logical_name for t in SHIPPED.tables),
            _file_key(src.document), _file_key(src.details) if src.details else None)


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or ".emulator/cache/metadata").resolve()


def cache_file(src: Source) -> Path:
    name = hashlib.blake2b(f"{src.document}|{src.details}".encode(), digest_size=12).hexdigest()
    return cache_dir() / f"{src.document.stem}-{name}.pickle"


@dataclass
class Loaded:
    imported: csdl.Imported
    source: Source
    cached: bool  # read from the cache (False: parsed now, and the cache written)


def load(src: Source, use_cache: bool = True) -> Loaded:
    """The imported tables of `src`, from the cache when its key matches, else parsed (and the cache written)."""
    key = cache_key(src)
    path = cache_file(src)
    if use_cache:
        with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError,
                                 TypeError, ImportError):
            with path.open("rb") as f, _no_gc():
                stored_key, imported = pickle.load(f)  # noqa: S301 (our own cache file, in our own directory)
            if stored_key == key and isinstance(imported, csdl.Imported):
                return Loaded(imported, src, cached=True)
    imported = parse(src)
    if use_cache:
        _write(path, key, imported)
    return Loaded(imported, src, cached=False)


@contextlib.contextmanager
def _no_gc():
    """Unpickling 50,000 objects runs the cycle collector dozens of times for nothing: off meanwhile (halves it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(src: Source) -> csdl.Imported:
    try:
        found = details.read(src.details) if src.details else None
        return csdl.build(csdl.parse(src.document), found, known=frozenset(t.logical_name for t in SHIPPED.tables))
    except (csdl.MetadataError, details.DetailsError) as e:
        raise MetadataLoadError(str(e)) from None


def _write(path: Path, key: tuple, imported: csdl.Imported) -> None:
    """Atomically (a reader sees the old file or the new one); a cache that cannot be written is no error."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump((key, imported), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise


# -- joining a catalog ---------------------------------------------------------------------------------------------
def merge(shipped: Table, imported: Table, detailed: frozenset[tuple[str, str]]) -> Table:
    """An imported table that the emulator also ships: the org's definition, column by column. A shipped column the
    org's table lacks stays (the seeder, getConversations and computed columns rely on them); a column both have is
    the org's, unless the org's only says its Edm type (no EntityDefinitions detail) and that type is the shipped
    one's: then the richer shipped definition stays."""
    name = imported.logical_name
    columns: dict[str, Attribute] = {a.logical_name: a for a in shipped.attributes}
    for attr in imported.attributes:
        mine = columns.get(attr.logical_name)
        if mine is not None and (name, attr.logical_name) not in detailed and mine.edm_type == attr.edm_type \
                and mine.is_lookup == attr.is_lookup:
            continue
        columns[attr.logical_name] = attr
    table_detailed = any(t == name for t, _ in detailed)
    keys = {k.attributes: k for k in (*shipped.keys, *imported.keys)}
    base = imported if table_detailed else shipped
    return Table(name, imported.entity_set, base.display_name, base.display_collection_name, imported.primary_id,
                 base.primary_name if base.primary_name in columns else shipped.primary_name,
                 tuple(columns.values()), ownership=base.ownership, is_activity=base.is_activity or shipped.is_activity,
                 description=base.description, keys=tuple(keys.values()), change_tracking=base.change_tracking)


def join(base: Catalog, imported: csdl.Imported) -> Catalog:
    """`base` with the imported tables: one of a name `base` has takes its place (merged, see `merge`), the others
    follow in document order."""
    mine = {t.logical_name: t for t in imported.tables}
    tables = [merge(t, mine.pop(t.logical_name), imported.detailed) if t.logical_name in mine else t
              for t in base.tables]
    return Catalog([*tables, *mine.values()])


def catalog(path: str | Path | None, details_path: str | Path | None = None, base: Catalog = SHIPPED) -> Catalog:
    """The catalog an emulator serves with the metadata at `path` (None: `base` unchanged)."""
    if path is None:
        return base
    return join(base, load(source(path, details_path)).imported)
