export { ModelportClient, errorFromResponse, type ClientOptions } from './client.js';
export { HttpTransport, InjectTransport, type Transport, type TransportRequest, type TransportResponse } from './transport.js';
export { ModelportError, type ErrorCode } from '../core/errors.js';
export * from './tracking.js';
export { DatasetsClient, datasetRef, type UploadTarget } from './datasets.js';
export { RegistryClient, httpBlobUploader } from './registry.js';
export { ServingClient } from './serving.js';
export { MonitoringClient } from './monitoring.js';
export { PipelinesClient } from './pipelines.js';
