"""`medkb quarantine ...`: inspect records held back by ingest or validation, and re-queue them."""

from __future__ import annotations

import argparse
import json

from medkb.db.postgres import connect
from medkb.settings import Settings
from medkb.staging import quarantine


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quarantine", help="list, show and release quarantined records",
        description="Records that failed reading or validation wait here with their reasons and raw "
        "payload. Fix the cause, then `release` re-queues the record for validation.",
    )
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="quarantine_command", metavar="SUBCOMMAND")
    ls = s.add_parser("list", help="one line per entry, newest first")
    ls.add_argument("--source", help="only this source (medline, pubmed, pubtator, bioc, fhir)")
    ls.add_argument("--all", action="store_true", help="include released entries")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=_list)
    sh = s.add_parser("show", help="one entry in full: reasons with observed values, and the raw payload")
    sh.add_argument("id", type=int)
    sh.add_argument("--max-chars", type=int, default=4000, help="truncate the printed payload (0: no limit)")
    sh.set_defaults(func=_show)
    rl = s.add_parser("release", help="re-queue entries after a fix (validated again on the next run)")
    rl.add_argument("ids", type=int, nargs="+", metavar="ID")
    rl.set_defaults(func=_release)


def _list(args: argparse.Namespace) -> int:
    with connect(Settings.from_env()) as conn:
        rows = quarantine.list_entries(conn, None if args.all else "quarantined", args.source, args.limit)
    if not rows:
        print("quarantine is empty")
        return 0
    for r in rows:
        print(f"{r['id']:>6}  {r['status']:<11} {r['stage']:<8} {r['source']}:{r['source_key']} "
              f"v{r['version']}  run {r['run_id']}  failed: {r['failed'] or '-'}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with connect(Settings.from_env()) as conn:
        e = quarantine.get(conn, args.id)
    print(f"id {e['id']}  {e['source']}:{e['source_key']} v{e['version']}  stage {e['stage']}  "
          f"status {e['status']}  run {e['run_id']}  at {e['created_at']:%Y-%m-%d %H:%M:%S}")
    print("reasons:")
    for r in e["reasons"]:
        print("  - " + ", ".join(f"{k}={v}" for k, v in r.items()))
    payload = json.dumps(e["payload"], indent=2, ensure_ascii=False, default=str)
    if args.max_chars and len(payload) > args.max_chars:
        payload = payload[: args.max_chars] + f"\n… ({len(payload) - args.max_chars} more characters; --max-chars 0)"
    print("payload:")
    print(payload)
    return 0


def _release(args: argparse.Namespace) -> int:
    with connect(Settings.from_env()) as conn:
        for entry_id in args.ids:
            done = quarantine.release(conn, entry_id)
            print(f"released {entry_id} ({done['source']}:{done['key']}), re-queued rows: {done['requeued_rows']}")
    return 0
