import logging, json, sys
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from dataclasses import replace
from medkb.training.config import NerConfig
from medkb.training.finetune import train_ner
cfg = replace(NerConfig.load("models/ner.yaml"), max_minutes=85, epochs=5)
r = train_ner(cfg, sys.argv[1], threads=2)
print("DONE", r.best_epoch, json.dumps(r.dev), r.seconds, flush=True)
