"""The model registry: model directories and their records (store.py), the gate and its per-kind
policies (policy.py), model cards (card.py). `from medkb import registry` gives the public names."""

from medkb.registry.card import CARD_TEMPLATE, write_card
from medkb.registry.policy import POLICY_FILE, GatePolicy, PolicyError, gate
from medkb.registry.store import (
    Decision,
    ModelRecord,
    RegistryError,
    champion,
    decisions,
    get,
    list_models,
    next_version,
    promote,
    register,
    registry_dir,
    reserve_version,
    rollback,
)

__all__ = [
    "CARD_TEMPLATE", "POLICY_FILE", "Decision", "GatePolicy", "ModelRecord", "PolicyError", "RegistryError",
    "champion", "decisions", "gate", "get", "list_models", "next_version", "promote", "register",
    "registry_dir", "reserve_version", "rollback", "write_card",
]
