"""`medkb model ...`: the model registry (list, show, register, rescore, promote, rollback, release, import)."""

from __future__ import annotations

import argparse
import json

from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="model registry: list, show, register, promote (champion/challenger gate), rollback")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="model_command", metavar="SUBCOMMAND")
    ls = s.add_parser("list", help="every registered version with status and primary dev F1")
    ls.add_argument("--kind", default="ner")
    ls.set_defaults(func=_list)
    sh = s.add_parser("show", help="one version: metrics, path, parent and the gate decisions about it")
    sh.add_argument("version", nargs="?", help="version (default: the champion)")
    sh.set_defaults(func=_show)
    rg = s.add_parser("register", help="add a trained model directory (medkb train ner --no-register output) as a challenger")
    rg.add_argument("path", help="model directory with metrics.json")
    rg.add_argument("--version", help="version name (default: ner-<date>-<n>)")
    rg.set_defaults(func=_register)
    pr = s.add_parser("promote", help="run the champion/challenger gate for a version (models/promotion.yaml)")
    pr.add_argument("version")
    pr.add_argument("--force", action="store_true", help="promote even if the gate says no (recorded as forced)")
    pr.add_argument("--margin", type=float, help="override the gate's micro-F1 margin")
    pr.add_argument("--tolerance", type=float, help="override the per-type drop tolerance")
    pr.set_defaults(func=_promote)
    rs = s.add_parser("rescore", help="re-evaluate a version on its dev files with the current decoding and "
                      "update its registered metrics (so the gate compares like with like)")
    rs.add_argument("version", nargs="?", help="version (default: the champion)")
    rs.set_defaults(func=_rescore)
    rl = s.add_parser("release", help="cut a shipped release: models/releases/VERSION (bf16 weights, manifest of sha256s)",
                      description="Copy a registered model's serving files into models/releases/VERSION with the weights "
                      "cast to bf16 and a MANIFEST.json of every file's sha256; the champion's release is marked serving, "
                      "so a fresh machine imports it. Commit the directory (about 45 MB per MiniLM model).")
    rl.add_argument("version")
    rl.add_argument("--not-serving", action="store_true", help="ship it without making it what a fresh machine imports")
    rl.set_defaults(func=_release)
    im = s.add_parser("import", help="register a release directory (checksums verified; a second import changes nothing)",
                      description="Verify every file of a release against its MANIFEST.json (a missing, truncated or "
                      "altered file is refused by name), copy it into the registry directory and register it; it "
                      "becomes champion when its kind has none.")
    im.add_argument("path", help="release directory, e.g. models/releases/ner-20261201-1")
    im.add_argument("--no-promote", action="store_true", help="register as a challenger even when there is no champion")
    im.set_defaults(func=_import)
    rb = s.add_parser("rollback", help="retire the champion and restore the previous one")
    rb.add_argument("--kind", default="ner")
    rb.set_defaults(func=_rollback)


def _list(args: argparse.Namespace) -> int:
    from medkb import registry
    from medkb.db.postgres import connect

    with connect(Settings.from_env()) as conn:
        models = registry.list_models(conn, args.kind)
    if not models:
        print("no models registered; `medkb train ner --config models/ner.yaml` trains one")
        return 0
    print(f"{'version':<22} {'status':<11} {'parent':<22} {'created':<20} dev micro F1")
    for m in models:
        f1 = m.primary_scores()["micro"]["f1"]
        print(f"{m.version:<22} {m.status:<11} {m.parent or '-':<22} {m.created:%Y-%m-%d %H:%M:%S}  {f1:.2f}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from medkb import registry
    from medkb.db.postgres import connect

    with connect(Settings.from_env()) as conn:
        if args.version:
            m = registry.get(conn, args.version)
        else:
            m = registry.champion(conn)
            if m is None:
                raise registry.RegistryError("no champion; give a version (`medkb model list`)")
        decisions = registry.decisions(conn, m.version)
    print(json.dumps({"version": m.version, "status": m.status, "parent": m.parent, "created": m.created.isoformat(),
                      "path": m.path, "metrics": m.metrics,
                      "decisions": [{"action": d["action"], "against": d["against"], "reasons": d["reasons"],
                                     "at": d["decided_at"].isoformat()} for d in decisions]}, indent=1))
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from medkb import registry
    from medkb.db.postgres import connect
    from medkb.training.finetune import rescore
    from medkb.training.relation_train import rescore_re

    settings = Settings.from_env()
    with connect(settings) as conn:
        rec = registry.get(conn, args.version) if args.version else registry.champion(conn)
        if rec is None:
            raise registry.RegistryError("no champion; give a version (`medkb model list`)")
        before = rec.primary_scores()["micro"]["f1"]
        metrics = rescore_re(rec.path) if rec.kind == "re" else rescore(rec.path)
        rec = registry.register(conn, rec.path, settings, version=rec.version)
    after = metrics["dev"][metrics["primary"]]["micro"]["f1"]
    print(f"{rec.version}: dev micro F1 {before:.2f} -> {after:.2f} ({metrics['primary']}); "
          + ", ".join(f"{k} {v['micro']['f1']:.2f}" for k, v in metrics["dev"].items()))
    return 0


def _register(args: argparse.Namespace) -> int:
    from medkb import registry
    from medkb.db.postgres import connect

    settings = Settings.from_env()
    with connect(settings) as conn:
        rec = registry.register(conn, args.path, settings, version=args.version)
    print(f"registered {rec.version} ({rec.status}) at {rec.path}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from medkb import registry
    from medkb.db.postgres import connect

    with connect(Settings.from_env()) as conn:
        policy = registry.GatePolicy.load(kind=registry.get(conn, args.version).kind)  # the version's own kind
        if args.margin is not None:
            policy = replace(policy, margin=args.margin)
        if args.tolerance is not None:
            policy = replace(policy, tolerance=args.tolerance)
        d = registry.promote(conn, args.version, policy, force=args.force)
    print(("promoted " if d.promote else "not promoted ") + d.version + ": " + "; ".join(d.reasons))
    return 0 if d.promote else 3


def _rollback(args: argparse.Namespace) -> int:
    from medkb import registry
    from medkb.db.postgres import connect

    with connect(Settings.from_env()) as conn:
        d = registry.rollback(conn, args.kind)
    print(d.reasons[0])
    return 0


def _release(args: argparse.Namespace) -> int:
    from medkb.db.postgres import connect
    from medkb.registry.release import cut_release

    with connect(Settings.from_env()) as conn:
        rel = cut_release(conn, args.version, serving=False if args.not_serving else None)
    print(f"released {rel.version} ({rel.kind}{', serving' if rel.serving else ''}) at {rel.path}: "
          f"{len(rel.files)} files, {rel.total_bytes / 2**20:.1f} MiB; commit the directory to ship it")
    return 0


def _import(args: argparse.Namespace) -> int:
    from medkb.db.postgres import connect
    from medkb.registry.release import import_release

    settings = Settings.from_env()
    with connect(settings) as conn:
        record, imported = import_release(conn, settings, args.path, promote=not args.no_promote)
    print(f"{'imported' if imported else 'already registered, nothing changed:'} {record.version} ({record.kind}, {record.status}) at {record.path}")
    return 0
