"""`whatif` and `recommend`: stored variants projected onto a serving scenario, and the leanest one meeting
limits.
"""

from __future__ import annotations

import argparse
import json
import sys


def _scenario(args: argparse.Namespace):
    """A Scenario from the what-if flags; a flag left out takes the documented default."""
    from engine.scenario import Scenario, parse_variants

    given = {name: getattr(args, name) for name in ("queries_per_day", "growth_pct", "years", "region", "pue",
                                                    "price_kwh", "compute_usd_per_hour")}
    values = {k: v for k, v in given.items() if v is not None and v != ""}
    if getattr(args, "variants", ""):
        values["variants"] = parse_variants(args.variants)
    return Scenario(**values).validated()


def _task_records(task_id: str) -> list:
    from engine.registry import get_task
    from engine.store import Store

    return Store().trials(task=get_task(task_id).id)


def cmd_whatif(args: argparse.Namespace) -> int:
    from datetime import date

    from engine.whatif import NoResultsError, project

    scenario = _scenario(args)
    start = None
    if args.start:
        try:
            start = date.fromisoformat(args.start)
        except ValueError:
            raise ValueError(f"--start must be a date as YYYY-MM-DD (got '{args.start}').") from None
    try:
        result = project(_task_records(args.task), scenario, task=args.task, start=start)
    except NoResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    _print_whatif(result)
    return 0


def _print_whatif(result) -> None:
    s = result.scenario
    print(f"{s.queries_per_day:,.0f} queries/day, {s.growth_pct:+g}%/year, {s.years} year{'s' * (s.years != 1)}, "
          f"grid {result.grid.label}, PUE {s.pue:g}, ${s.price_kwh:g}/kWh, machine ${s.compute_usd_per_hour:g}/h; "
          f"baseline {result.baseline.record.variant if result.baseline else 'none'}\n")
    print(f"{'model':<12} {'technique':<28} {'kWh/yr':>10} {'tCO2e/yr':>9} {'USD/yr':>10} {'kWh total':>10} "
          f"{'tCO2e tot':>9} {'USD total':>10} {'saved kWh':>10}  payback")
    for v in result.variants:
        fy, tot = v.first_year, v.total
        saved = v.savings.total.energy_kwh if v.savings else None
        print(f"{v.record.model:<12} {v.record.technique[:28]:<28} {fy.energy_kwh:>10.4g} {fy.co2e_t:>9.3g} "
              f"{_num(fy.cost_usd):>10} {tot.energy_kwh:>10.4g} {tot.co2e_t:>9.3g} {_num(tot.cost_usd):>10} "
              f"{_num(saved):>10}  {v.payback.sentence if v.payback else ''}")
    for variant, why in result.skipped:
        print(f"skipped {variant}: {why}")
    print("\nAssumptions:")
    for a in result.assumptions:
        value = f"{a.value:,.6g}" if isinstance(a.value, float | int) else str(a.value)
        unit = f" {a.unit}" if a.unit else ""
        year = f", {a.year}" if a.year else ""
        print(f"  {a.label}: {value}{unit}{year} ({a.source})")
    for caution in result.cautions:
        print(f"  CAUTION: {caution}")
    for note in result.notes:
        print(f"  - {note}")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def cmd_recommend(args: argparse.Namespace) -> int:
    from engine.recommend import Constraints, recommend

    scenario = _scenario(args) if args.max_annual_usd is not None else None
    constraints = Constraints(args.min_quality, args.min_quality_pct, args.max_p95_ms, args.max_annual_usd,
                              scenario, args.device).validated()
    records = _task_records(args.task)
    if not any(r.status == "ok" for r in records):
        print(f"error: no successful trials for task '{args.task}' to recommend from: run some first "
              "(python -m engine run ...).", file=sys.stderr)
        return 1
    result = recommend(records, constraints, task=args.task)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    if result.recommended:
        print(f"Recommended: {result.reason}")
        if result.runner_up:
            print(f"Runner-up:   {result.runner_up_reason}")
    else:
        print(result.reason)
        if result.nearest_miss:
            print(f"Nearest miss: {result.nearest_miss_reason}")
    for variant, why in result.unranked:
        print(f"not ranked: {variant} ({why})")
    return 0


def scenario_flags(p: argparse.ArgumentParser) -> None:
    """The what-if scenario; each flag left out takes the default listed by engine.whatif.DEFAULTS."""
    from engine.scenario import DEFAULTS

    def flag(name: str, kind: type, what: str) -> None:
        d = DEFAULTS[name]
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help=f"{what} (default {d.value}{' ' + d.unit if d.unit else ''})")

    flag("queries_per_day", float, "queries per day in the first year")
    flag("growth_pct", float, "annual growth of the volume, percent")
    flag("years", int, "horizon, 1..20 years")
    p.add_argument("--region", default="", help="grid region: ISO 3166 alpha-3 or USA-<state> (default "
                                                "RIGHTSIZE_REGION or USA)")
    flag("pue", float, "data-centre power usage effectiveness, 1..3")
    flag("price_kwh", float, "electricity price, USD per kWh")
    flag("compute_usd_per_hour", float, "hourly price of the serving machine, USD")
