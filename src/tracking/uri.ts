/**
 * Where a run's artifacts live under the artifact proxy root (`mlflow-artifacts:/1/<run>/artifacts`
 * → `1/<run>/artifacts`), or undefined for a URI the proxy does not serve (s3://, file:...).
 * Pure, so the SDK can use it without the server's dependencies.
 */
export function artifactProxyRoot(artifactUri: string): string | undefined {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
  return m ? m[1].replace(/\/+$/, '') : undefined;
}
