"""Energy of a block of code, from codecarbon's OfflineEmissionsTracker, labelled with how it was obtained.

Why the tracker's background sampling is switched off inside the window: codecarbon 3.3.2 integrates
energy from two timer threads (every `measure_power_secs`, and a CPU-power monitor every 1 s). On short
windows, and whenever our work holds the GIL, those threads read their clocks and CPU times far apart
and overlap each other: on this machine a 2 s window gave RAM 8.5-25 W for a model that is a constant
10 W, and CPU up to 2x the process's real CPU time. With the samplers stopped right after start, the
tracker takes one reading at start and one at stop, on our thread: CPU power is then its model applied
to the whole window's CPU time, and energy is that power x the window, which matched the process's CPU
time to ~1%. So `measure_power_secs` is forwarded but has no effect on the result.

Tracking mode is "process": CPU load is the CPU time of this process and of descendants that already
existed at the start (codecarbon counts a new pid only from its second reading, and we take one: a child
process started inside the window is not counted; threads always are). RAM power is modelled from our
resident memory at the stop.
RAPL and NVML, where present, measure the whole CPU package / GPU, not only this process.
Nothing is written (no emissions.csv) and nothing is sent: every output and API option is set explicitly,
so a .codecarbon.config or CODECARBON_* variable cannot switch one on.
"""

from __future__ import annotations

import inspect
import logging
import platform
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from engine.carbon import grid_intensity

TRACKING_MODE = "process"
MEASURED_CPU_MODES = {"intel_rapl": "RAPL", "windows_emi": "Windows EMI (RAPL)",
                      "intel_power_gadget": "Intel Power Gadget"}


class EnergyMeasurementError(RuntimeError):
    """codecarbon failed to start or stop, or its result is missing: the energy figure does not exist."""


@dataclass(frozen=True)
class EnergyMeasurement:
    energy_wh: float  # total (cpu + ram + gpu) watt-hours over the window
    cpu_wh: float
    ram_wh: float
    gpu_wh: float
    duration_s: float
    method: str  # "estimated: ...", "measured: ..." or "partly measured: ..."

    def per_query_wh(self, n_queries: int) -> float:
        if n_queries <= 0:
            raise ValueError(f"n_queries must be >= 1, got {n_queries}")
        return self.energy_wh / n_queries

    @property
    def cpu_w(self) -> float:
        return self.cpu_wh * 3600 / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def ram_w(self) -> float:
        return self.ram_wh * 3600 / self.duration_s if self.duration_s > 0 else 0.0


def _raw(method: Any) -> Any:
    """codecarbon wraps __init__/start/stop in a suppress(Exception) decorator that logs and returns None;
    the undecorated function (functools.wraps keeps it as __wrapped__) lets us see the real error."""
    return inspect.unwrap(method)


class EnergyMeter:
    """`with EnergyMeter() as m: work()` then `m.result` is an EnergyMeasurement.

    Exceptions from the block propagate (the tracker is still stopped). If the tracker itself fails,
    EnergyMeasurementError says why; it never leaves a silent None behind a clean exit.
    Measure windows of a second or more: CPU time is counted in 10 ms ticks.
    """

    def __init__(self, region: str = "USA", measure_power_secs: float = 0.5) -> None:
        grid = grid_intensity(region)  # fail early, with a did-you-mean, on an unknown code
        self.region = grid.region
        self.country_iso_code = grid.country_iso_code  # codecarbon knows countries; USA-CA is ours
        self.measure_power_secs = measure_power_secs
        self.result: EnergyMeasurement | None = None
        self._tracker: Any = None
        self._started_s = 0.0

    def __enter__(self) -> EnergyMeter:
        self.result = None
        self._tracker = self._new_tracker()
        try:
            _raw(type(self._tracker).start)(self._tracker)
        except Exception as exc:
            raise EnergyMeasurementError(f"codecarbon failed to start: {exc!r}") from exc
        finally:
            _stop_samplers(self._tracker)  # on success too: see the module docstring
        if self._tracker._start_time is None:
            raise EnergyMeasurementError("codecarbon tracker did not start (another instance running?)")
        self._started_s = time.perf_counter()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # The block's own time: codecarbon's `duration` also counts its first-use data loading at stop.
        duration_s = time.perf_counter() - self._started_s
        tracker, self._tracker = self._tracker, None
        try:
            _raw(type(tracker).stop)(tracker)
            self.result = _measurement(tracker, duration_s)
        except Exception as error:
            if exc is not None:  # never mask the block's own exception
                exc.add_note(f"(energy measurement also failed: {error!r})")
                return
            if isinstance(error, EnergyMeasurementError):
                raise
            raise EnergyMeasurementError(f"codecarbon failed to stop: {error!r}") from error
        finally:
            _stop_samplers(tracker)

    def _new_tracker(self) -> Any:
        from codecarbon import OfflineEmissionsTracker

        logging.getLogger("codecarbon").setLevel(logging.ERROR)  # its init logs before log_level applies
        tracker = OfflineEmissionsTracker.__new__(OfflineEmissionsTracker)
        try:
            _raw(OfflineEmissionsTracker.__init__)(
                tracker, country_iso_code=self.country_iso_code, region=None, cloud_provider=None, cloud_region=None,
                tracking_mode=TRACKING_MODE, measure_power_secs=self.measure_power_secs, log_level="error",
                output_methods=[], output_handlers=[], emissions_endpoint=None, electricitymaps_api_token="",
                allow_multiple_runs=True,  # no lock file in /tmp, no SIGINT/SIGTERM handlers replaced
                pue=1.0, force_cpu_power=None, force_ram_power=None, force_mode_cpu_load=False,
                rapl_include_dram=False, rapl_prefer_psys=False,
            )
        except Exception as exc:
            raise EnergyMeasurementError(f"codecarbon tracker could not be created: {exc!r}") from exc
        if tracker._output_handlers:
            raise EnergyMeasurementError(f"codecarbon would write or send output: {tracker._output_handlers}")
        return tracker


def _stop_samplers(tracker: Any) -> None:
    for name in ("_scheduler", "_scheduler_monitor_power"):
        scheduler = getattr(tracker, name, None)
        if scheduler is not None:
            scheduler.stop()


def _measurement(tracker: Any, duration_s: float) -> EnergyMeasurement:
    data = getattr(tracker, "final_emissions_data", None)
    if data is None:
        raise EnergyMeasurementError("codecarbon stopped without a result")
    cpu_wh, ram_wh, gpu_wh = (float(kwh) * 1000 for kwh in (data.cpu_energy, data.ram_energy, data.gpu_energy))
    return EnergyMeasurement(
        energy_wh=cpu_wh + ram_wh + gpu_wh, cpu_wh=cpu_wh, ram_wh=ram_wh, gpu_wh=gpu_wh,
        duration_s=duration_s, method=describe_method(tracker),
    )


def describe_method(tracker: Any) -> str:
    """How codecarbon obtained each part, read from the hardware objects it actually set up."""
    from codecarbon import __version__
    from codecarbon.core.cpu import DEFAULT_POWER_PER_CORE

    kinds = {type(hw).__name__: hw for hw in tracker._hardware}
    parts: list[tuple[str, bool]] = []  # (text, measured)
    cpu = kinds.get("CPU")
    if cpu is None:
        parts.append(("CPU not tracked", False))
    elif cpu._mode in MEASURED_CPU_MODES:
        parts.append((f"CPU measured by {MEASURED_CPU_MODES[cpu._mode]} (whole package, not only this process)",
                      True))
    elif cpu._mode == "cpu_load":
        threads = cpu._cpu_count
        per_thread_w = cpu._tdp / threads
        if cpu._is_generic_tdp:
            source = f"codecarbon's generic {cpu._tdp:g} W TDP: CPU model unknown"
        elif cpu._tdp == threads * DEFAULT_POWER_PER_CORE:
            source = f"codecarbon's default {DEFAULT_POWER_PER_CORE} W/thread: '{cpu._model}' is not in its TDP table"
        else:
            source = f"TDP {cpu._tdp:g} W of '{cpu._model}' from codecarbon's table"
        no_rapl = "; no RAPL counter readable" if platform.system() == "Linux" else ""
        parts.append((f"CPU {per_thread_w:g} W per busy thread x this process tree's CPU time "
                      f"({source}{no_rapl})", False))
    else:
        parts.append((f"CPU from codecarbon mode '{cpu._mode}' ({cpu._tdp} W TDP)", False))
    ram = kinds.get("RAM")
    if ram is not None:
        ram_w = ram.total_power().W
        how = "user-set" if ram._force_ram_power is not None else "codecarbon DIMM-count model"
        parts.append((f"RAM {ram_w:.1f} W ({how})", False))
    gpu = kinds.get("GPU")
    if gpu is not None:
        parts.append(("GPU measured by NVML/AMDSMI energy counters (whole device)", True))
    else:
        parts.append((_untracked_gpu(), False))
    measured = [m for text, m in parts if not text.startswith(("no GPU", "GPU not"))]
    prefix = "measured" if all(measured) else "partly measured" if any(measured) else "estimated"
    body = " + ".join(text for text, _ in parts)
    return f"{prefix}: {body}; codecarbon {__version__}, {TRACKING_MODE} mode (this process + children it had at the start)"


def _untracked_gpu() -> str:
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            return "GPU not measured (codecarbon found no NVML)"
    except Exception:
        pass
    return "no GPU"
