/**
 * The ES module shipped in an edge bundle (`model.mjs`). It has no imports: the caller passes
 * the onnxruntime it has (onnxruntime-web in a browser, onnxruntime-node in Node), so the same
 * file runs in both. It checks inputs against the bundle's signature before calling the model.
 */
export const RUNTIME_MODULE = `// modelport edge bundle runtime: no dependencies; pass onnxruntime-web or onnxruntime-node.
const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, int8: Int8Array, bool: Uint8Array };

export class InputError extends Error {}

/**
 * Loads the bundle. \`ort\` is the onnxruntime module; \`model\` the ONNX bytes (ArrayBuffer or
 * Uint8Array) or a URL/path onnxruntime can open; \`signature\` the parsed signature.json.
 */
export async function load(ort, model, signature, options = {}) {
  const session = await ort.InferenceSession.create(model, options);
  return new BundleModel(ort, session, signature);
}

class BundleModel {
  constructor(ort, session, signature) {
    this.ort = ort;
    this.session = session;
    this.signature = signature;
  }

  /**
   * Predicts rows. A row is an object of inputs by name; for a model of one vector input it may
   * also be an object of its features by name (signature.features) or a plain array of numbers.
   * Answers one object per row, outputs by name (vectors as arrays).
   */
  async predict(rows) {
    if (!Array.isArray(rows) || rows.length === 0) throw new InputError('rows: expected a non-empty array of rows');
    const feeds = {};
    for (const spec of this.signature.inputs) feeds[spec.name] = this.tensor(spec, rows);
    const results = await this.session.run(feeds);
    return rows.map((_, r) => {
      const out = {};
      for (const spec of this.signature.outputs) {
        const t = results[spec.name];
        const size = t.dims.slice(1).reduce((a, b) => a * b, 1);
        const cells = Array.from(t.data.slice(r * size, (r + 1) * size), (v) => (typeof v === 'bigint' ? Number(v) : v));
        out[spec.name] = t.dims.length === 1 ? cells[0] : cells;
      }
      return out;
    });
  }

  tensor(spec, rows) {
    const Array_ = ARRAYS[spec.dtype];
    if (!Array_) throw new InputError(\`input "\${spec.name}": dtype \${spec.dtype} is not supported by this bundle\`);
    const width = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Array_(rows.length * width);
    rows.forEach((row, r) => {
      const values = this.values(spec, row, r);
      if (values.length !== width) throw new InputError(\`row \${r}: input "\${spec.name}" needs \${width} values, got \${values.length}\`);
      values.forEach((v, j) => {
        const n = v === null ? NaN : v;
        if (typeof n !== 'number') throw new InputError(\`row \${r}: \${this.where(spec, j)} must be a number, got \${JSON.stringify(v)}\`);
        data[r * width + j] = spec.dtype === 'int64' ? BigInt(n) : n;
      });
    });
    return new this.ort.Tensor(spec.dtype, data, [rows.length, ...spec.shape]);
  }

  values(spec, row, r) {
    if (Array.isArray(row) && this.signature.inputs.length === 1) return row;
    if (row === null || typeof row !== 'object') throw new InputError(\`row \${r}: expected an object of inputs\`);
    if (spec.name in row) return spec.shape.length === 0 ? [row[spec.name]] : row[spec.name];
    const features = this.signature.features;
    if (!features) throw new InputError(\`row \${r}: input "\${spec.name}" is missing\`);
    const missing = features.filter((f) => !(f in row));
    if (missing.length > 0) throw new InputError(\`row \${r}: missing \${missing.map((m) => \`"\${m}"\`).join(', ')}\`);
    const extra = Object.keys(row).filter((k) => !features.includes(k));
    if (extra.length > 0) throw new InputError(\`row \${r}: unknown \${extra.map((m) => \`"\${m}"\`).join(', ')}\`);
    return features.map((f) => row[f]);
  }

  where(spec, j) {
    return this.signature.features && spec.shape.length === 1 ? \`"\${this.signature.features[j]}"\` : \`input "\${spec.name}"[\${j}]\`;
  }
}
`;
