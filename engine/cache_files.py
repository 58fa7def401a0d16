"""Checksums for what the cache holds, so a damaged file is rebuilt instead of trusted.

A flipped or overwritten block in cached weights loads without complaint and gives wrong figures (accuracy
0.495 instead of 0.73 was seen), and a truncated file failed the same way on every later run. So every artifact
carries a SHA-256 written when it is created, checked before it is used:

- a folder (a converted or reassembled model): `manifest.json` inside it lists each file's size and SHA-256.
  It is written into the temporary folder before that is renamed into place, so a published folder has one.
- a safetensors file (a head, teacher answers): the digest of its tensors and metadata sits in its own
  metadata under "sha256", so file and checksum are replaced together by one rename (a sidecar could not be).

A damaged artifact (mismatch, no checksum, unreadable) is logged on "rightsize.cache", removed and rebuilt once;
a rebuilt one that is still bad raises CacheError naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch

log = logging.getLogger("rightsize.cache")
T = TypeVar("T")
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
DIGEST_KEY = "sha256"  # the safetensors metadata key holding the file's own digest
CHUNK = 1 << 20
NO_CHECKSUM = "has no checksum (cached before checksums were kept, so it cannot be trusted)"


class CacheError(ValueError):
    """A cached artifact that is still damaged after one rebuild; the message names the file and the fix."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


# --- folders ----------------------------------------------------------------------------------------------


def write_manifest(folder: Path) -> None:
    """Size and SHA-256 of every file under `folder`, as folder/manifest.json (called before publishing)."""
    files = {
        path.relative_to(folder).as_posix(): {"size": path.stat().st_size, "sha256": file_sha256(path)}
        for path in sorted(folder.rglob("*")) if path.is_file() and path.name != MANIFEST
    }
    (folder / MANIFEST).write_text(json.dumps({"format": MANIFEST_FORMAT, "files": files}, indent=1))


# folder -> the (name, size, mtime, inode) of its files when they last matched their manifest: hashing a
# 420 MB model takes about a second, so each process does it once per folder and again only if a file changed.
_intact: dict[Path, tuple] = {}


def _signature(folder: Path, names: list[str]) -> tuple:
    stats = [(name, (folder / name).stat()) for name in [MANIFEST, *names]]
    return tuple((name, s.st_size, s.st_mtime_ns, s.st_ino) for name, s in stats)


def folder_problem(folder: Path) -> str | None:
    """None when every file listed in folder/manifest.json has its recorded size and SHA-256; else what is wrong."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files: dict[str, dict] = manifest["files"]
        names = sorted(files)
    except FileNotFoundError:
        return NO_CHECKSUM
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"has an unreadable {MANIFEST} ({type(error).__name__}: {error})"
    if not names:
        return f"has an empty {MANIFEST}"
    try:
        signature = _signature(folder, names)
    except OSError as error:
        return f"lacks a file its {MANIFEST} lists ({error})"
    if _intact.get(folder) == signature:
        return None
    for name in names:
        path, expected = folder / name, files[name]
        size = path.stat().st_size
        if size != expected["size"]:
            return f"has {name} of {size} bytes where {expected['size']} were written"
        if file_sha256(path) != expected["sha256"]:
            return f"has {name} whose SHA-256 no longer matches the one written with it"
    _intact[folder] = signature
    return None


def discard(path: Path, inode: int) -> None:
    """Remove a damaged file or folder, unless another process replaced it since it was checked (its inode
    changed: theirs is new, and is checked in turn). A folder is renamed aside first so no reader sees it half
    deleted."""
    _intact.pop(path, None)
    try:
        if path.stat().st_ino != inode:
            return
    except FileNotFoundError:
        return
    if path.is_dir():
        aside = Path(tempfile.mkdtemp(prefix=f".damaged-{path.name}-", dir=path.parent))
        os.replace(path, aside / path.name)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _describe(error: BaseException) -> str:
    return f"cannot be loaded ({type(error).__name__}: {error})"


def prepared_folder(final: Path, build: Callable[[Path], None], publish: Callable[[Path, Path], None],
                    load: Callable[[Path], T], fix: str) -> T:
    """load(final), building the folder first when it is absent, and rebuilding it once when it fails its
    manifest or its load. build(tmp) fills a temporary folder beside `final`; publish(tmp, final) renames it
    into place. Raises CacheError (naming `final` and `fix`) when the rebuilt folder is bad too."""
    if final.exists():
        inode = final.stat().st_ino
        problem = folder_problem(final)
        if problem is None:
            try:
                return load(final)
            except Exception as error:  # whatever the loader trips on, a rebuild is the remedy to try
                problem = _describe(error)
        log.warning("Cached %s %s: removing it and rebuilding it once.", final, problem)
        discard(final, inode)
        rebuilt = True
    else:
        rebuilt = False
    _build(final, build, publish, fix)
    problem = folder_problem(final)
    if problem is None:
        try:
            return load(final)
        except Exception as error:  # built from the same source again, it would fail again: say so
            raise CacheError(_still_bad(final, _describe(error), rebuilt, fix)) from error
    raise CacheError(_still_bad(final, problem, rebuilt, fix))


def _still_bad(path: Path, problem: str, rebuilt: bool, fix: str) -> str:
    when = "after being rebuilt" if rebuilt else "as soon as it was built"
    return f"Cached {path} {problem} {when}. {fix}"


def _build(final: Path, build: Callable[[Path], None], publish: Callable[[Path, Path], None], fix: str) -> None:
    from engine.registry import NotInstalledError

    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        try:
            build(tmp)
        except NotInstalledError:
            raise  # its message already says what to install
        except Exception as error:
            raise CacheError(f"Could not build {final} ({type(error).__name__}: {error}). {fix}") from error
        write_manifest(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared by the app, worker and CLI
        publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --- safetensors files ------------------------------------------------------------------------------------


def tensors_digest(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> str:
    """SHA-256 over the metadata strings (all but the digest itself) and each tensor's name, dtype, shape and
    bytes, in name order: what a safetensors file holds, independent of its header layout."""
    digest = hashlib.sha256(json.dumps({k: v for k, v in metadata.items() if k != DIGEST_KEY},
                                       sort_keys=True).encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(json.dumps([name, str(tensor.dtype), list(tensor.shape)]).encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def tensors_problem(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> str | None:
    if DIGEST_KEY not in metadata:
        return NO_CHECKSUM
    if tensors_digest(tensors, metadata) != metadata[DIGEST_KEY]:
        return "no longer matches the SHA-256 written with it"
    return None


def cached_file(path: Path, read: Callable[[Path], T]) -> T | None:
    """read(path) of a cached file; None when it is absent, or damaged (read raised): a damaged file is logged
    and removed, so the caller rebuilds it, and then checks the new one with written_file."""
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return None
    try:
        return read(path)
    except Exception as error:  # checksum mismatch, truncation, bad JSON metadata, I/O error
        log.warning("Cached %s is damaged (%s): removing it and rebuilding it once.", path, error)
        discard(path, inode)
        return None


def written_file(path: Path, read: Callable[[Path], T], fix: str) -> T:
    """read(path) of a file just written: if it is already bad, rebuilding again would not help."""
    try:
        return read(path)
    except Exception as error:
        raise CacheError(f"Cached {path} is damaged as soon as it was written ({error}). {fix}") from error


def disk_fix(path: Path) -> str:
    """What to do when the cache cannot keep a file it just wrote intact."""
    return (f"The disk holding {path.parent} may be failing or full: check it, delete {path}, or point "
            "RIGHTSIZE_CACHE at another folder.")
