"""Reads the extract step's numbers and writes a "model" and its metrics."""
import json
import os

numbers = [float(x) for x in open(os.path.join(os.environ["MODELPORT_INPUT_EXTRACT"], "numbers.txt"))]
mean = sum(numbers) / len(numbers)
out = os.environ["MODELPORT_OUTPUT_DIR"]
json.dump({"mean": mean}, open(os.path.join(out, "model.json"), "w"))
json.dump({"rows": len(numbers), "mean": mean}, open(os.path.join(out, "metrics.json"), "w"))
print(f"trained on {len(numbers)} rows")
