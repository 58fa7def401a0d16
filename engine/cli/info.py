"""`tasks` and `regions`: what can be measured, and the grid regions.
"""

from __future__ import annotations

import argparse
import json


def cmd_tasks(args: argparse.Namespace) -> int:
    from engine.datasets.own import list_own
    from engine.registry import MODELS, TASKS, TECHNIQUES, get_task, is_installed, metric_of

    rows = []
    stored = []
    for meta in list_own():  # uploads are tasks too; an unreadable one is skipped, not fatal
        try:
            stored.append(get_task(meta["dataset_id"]))
        except (KeyError, ValueError):
            continue
    for task in [*TASKS.values(), *stored]:
        models = [
            {"id": m, "family": MODELS[m].family, "params_m": MODELS[m].params_m,
             "installed": is_installed(MODELS[m]), "install": MODELS[m].install, "source": MODELS[m].source}
            for m in task.models
        ]
        metric = metric_of(task.id)
        rows.append({"id": task.id, "title": task.title, "kind": task.kind, "metric": metric.id,
                     "metric_title": metric.title, "metric_meaning": metric.meaning,
                     "test_sets": [s.id for s in task.test_sets], "models": models, "techniques": list(TECHNIQUES)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']}: {row['title']}   ({row['kind']}, scored by {row['metric_title']})   "
              f"test sets: {', '.join(row['test_sets'])}")
        for m in row["models"]:
            state = "installed" if m["installed"] else f"NOT installed -> {m['install']}"
            print(f"  {m['id']:<12} {m['family']:<11} {m['params_m']:>7.1f}M  {state}")
        print(f"  techniques: {', '.join(row['techniques'])}")
    return 0


def cmd_regions(args: argparse.Namespace) -> int:
    from engine.carbon import regions

    rows = regions()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        for r in rows:
            print(f"{r.region}  {r.g_per_kwh:8.1f} g/kWh  {r.year}  {r.name}")
    return 0
