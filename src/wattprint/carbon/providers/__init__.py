"""Live, time-resolved grid carbon intensity: UK NESO, Energi Data Service, Electricity Maps,
WattTime.

Nothing here touches the network unless a provider is explicitly chosen (by name here; for a run,
by the intensity_provider setting, which :mod:`wattprint.carbon.plan` reads). Credentials are
passed in (``token=``, ``username=``/``password=``), never read from the environment here.
Usage::

    provider = get_provider("neso")                 # cached on disk by default
    static = zones.intensity("GB").intensity_g_per_kwh
    bins, warning = intensity_bins(provider, "GB", start, end, static=static)

``bins`` cover the run exactly; each says its ``source`` (provider or ``static: ...``),
``kind`` (historical/forecast) and ``signal`` (average/marginal). Provider modules are imported
on first use only.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from wattprint.carbon.providers.base import Bin, Clock, Opener, Provider
from wattprint.carbon.providers.series import coverage_s, fill, intensity_bins
from wattprint.errors import ConfigError, ProviderError, UnsupportedZoneError

#: name -> (module, class)
_REGISTRY: dict[str, tuple[str, str]] = {
    "neso": ("neso", "NesoProvider"),
    "energidata": ("energidata", "EnergiDataProvider"),
    "electricitymaps": ("electricitymaps", "ElectricityMapsProvider"),
    "watttime": ("watttime", "WattTimeProvider"),
}
PROVIDERS: tuple[str, ...] = tuple(_REGISTRY)

__all__ = [
    "PROVIDERS",
    "Bin",
    "Provider",
    "ProviderError",
    "UnsupportedZoneError",
    "coverage_s",
    "fill",
    "get_provider",
    "intensity_bins",
]


def get_provider(
    name: str,
    *,
    cache: bool = True,
    cache_dir: Path | str | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    opener: Opener | None = None,
    timeout_s: float | None = None,
    base_url: str | None = None,
    clock: Clock | None = None,
) -> Provider:
    """The provider called ``name`` (one of :data:`PROVIDERS`), wrapped in the disk cache
    unless ``cache=False``.

    ``token`` is Electricity Maps' API token, ``username``/``password`` the WattTime account;
    ``opener``, ``timeout_s`` and ``base_url`` go to any provider; ``clock`` drives the cache
    (and WattTime's token renewal). An option left None is not passed. Unknown name or missing
    credentials -> ConfigError."""
    key = name.strip().lower()
    if key not in _REGISTRY:
        raise ConfigError(f"unknown intensity provider {name!r}; use one of {', '.join(PROVIDERS)}")
    module, cls = _REGISTRY[key]
    factory = getattr(import_module(f"wattprint.carbon.providers.{module}"), cls)
    opts: dict[str, object] = {"opener": opener, "timeout_s": timeout_s, "base_url": base_url}
    if key == "electricitymaps":
        opts["token"] = token
    if key == "watttime":
        opts.update(username=username, password=password, clock=clock)
    provider: Provider = factory(**{k: v for k, v in opts.items() if v is not None})
    if not cache:
        return provider
    from wattprint.carbon.providers.cache import BinCache, CachedProvider

    store = BinCache(Path(cache_dir) if cache_dir is not None else None)
    if clock is not None:
        store.clock = clock
    return CachedProvider(provider, store)
