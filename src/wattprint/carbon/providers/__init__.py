"""Live, time-resolved grid carbon intensity: UK NESO, Energi Data Service, Electricity Maps,
WattTime.

Nothing here touches the network unless a provider is explicitly chosen (argument or
``WATTPRINT_INTENSITY_PROVIDER``). Usage::

    provider = get_provider("neso")                 # cached on disk by default
    static = lookup("GB").intensity_g_per_kwh
    bins, warning = intensity_bins(provider, "GB", start, end, static=static)

``bins`` cover the run exactly; each says its ``source`` (provider or ``static: ...``),
``kind`` (historical/forecast) and ``signal`` (average/marginal). Provider modules are imported
on first use only.
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from typing import Any

from wattprint.carbon.providers.base import Bin, Provider
from wattprint.carbon.providers.series import coverage_s, fill, intensity_bins
from wattprint.errors import ConfigError, ProviderError, UnsupportedZoneError

ENV_PROVIDER = "WATTPRINT_INTENSITY_PROVIDER"
#: name -> (module, class)
_REGISTRY: dict[str, tuple[str, str]] = {
    "neso": ("neso", "NesoProvider"),
    "energidata": ("energidata", "EnergiDataProvider"),
    "electricitymaps": ("electricitymaps", "ElectricityMapsProvider"),
    "watttime": ("watttime", "WattTimeProvider"),
}
PROVIDERS: tuple[str, ...] = tuple(_REGISTRY)

__all__ = [
    "ENV_PROVIDER",
    "PROVIDERS",
    "Bin",
    "Provider",
    "ProviderError",
    "UnsupportedZoneError",
    "configured_provider",
    "coverage_s",
    "fill",
    "get_provider",
    "intensity_bins",
]


def get_provider(
    name: str, *, cache: bool = True, cache_dir: Path | str | None = None, **opts: Any
) -> Provider:
    """The provider called ``name`` (one of :data:`PROVIDERS`), wrapped in the disk cache
    unless ``cache=False``. ``opts`` go to the provider (``opener``, ``timeout_s``, ``token``,
    ``username``/``password``, ``base_url``, ``clock``); ``clock`` also drives the cache.
    Unknown name or missing credentials -> ConfigError."""
    key = name.strip().lower()
    if key not in _REGISTRY:
        raise ConfigError(f"unknown intensity provider {name!r}; use one of {', '.join(PROVIDERS)}")
    module, cls = _REGISTRY[key]
    factory = getattr(import_module(f"wattprint.carbon.providers.{module}"), cls)
    clock = opts.get("clock")
    if clock is not None and key != "watttime":
        opts = {k: v for k, v in opts.items() if k != "clock"}
    provider: Provider = factory(**opts)
    if not cache:
        return provider
    from wattprint.carbon.providers.cache import BinCache, CachedProvider

    store = BinCache(Path(cache_dir) if cache_dir is not None else None)
    if clock is not None:
        store.clock = clock
    return CachedProvider(provider, store)


def configured_provider(**opts: Any) -> Provider | None:
    """The provider named by ``WATTPRINT_INTENSITY_PROVIDER``, or None (then: tables only)."""
    name = os.environ.get(ENV_PROVIDER, "").strip()
    return get_provider(name, **opts) if name else None
