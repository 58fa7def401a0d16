"""`tasks` and `regions`: what can be measured, and the grid regions.
"""

from __future__ import annotations

import argparse
import json


def cmd_tasks(args: argparse.Namespace) -> int:
    from engine.registry import MODELS, TASKS, TECHNIQUES, is_installed

    rows = []
    for task in TASKS.values():
        models = [
            {"id": m, "family": MODELS[m].family, "params_m": MODELS[m].params_m,
             "installed": is_installed(MODELS[m]), "install": MODELS[m].install, "source": MODELS[m].source}
            for m in task.models
        ]
        rows.append({"id": task.id, "title": task.title, "test_sets": [s.id for s in task.test_sets],
                     "models": models, "techniques": list(TECHNIQUES)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']}: {row['title']}   test sets: {', '.join(row['test_sets'])}")
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
