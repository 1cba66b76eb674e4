#!/bin/sh
# Writes MODELPORT_PARAM_ROWS numbers for the next step.
seq 1 "$MODELPORT_PARAM_ROWS" > "$MODELPORT_OUTPUT_DIR/numbers.txt"
echo "extracted $MODELPORT_PARAM_ROWS rows"
