"""The pipelines, one module per DAG that runs it (kb_refresh, model_refine, ...).

Each is an ordered list of stage functions; the DAG's tasks and the CLI call the same list.
Every hand-off between stages goes through a store (Postgres, Neo4j, the model registry), never
through task memory, so any stage can be retried alone.
"""
