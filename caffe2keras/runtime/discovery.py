"""Discovery of the modules of a package, for registries that are filled by importing them."""

from __future__ import annotations

from collections.abc import Iterable


def import_submodules(package: str, path: Iterable[str]) -> list[str]:
    """Import every module found on ``path`` (the package's live ``__path__``, so a folder added
    to it is searched too) as a submodule of ``package``; their names, in ``pkgutil``'s order."""
    import importlib
    import pkgutil

    names = [info.name for info in pkgutil.iter_modules(list(path), prefix=f"{package}.")]
    for name in names:
        importlib.import_module(name)
    return names
