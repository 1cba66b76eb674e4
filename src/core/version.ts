/** The package's version, as reported by the CLI, the OpenAPI document and the V2 server metadata. */
export const VERSION = '0.1.0';
