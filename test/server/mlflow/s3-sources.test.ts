/**
 * Registry sources on s3:// with the artifact store on S3 (s3rver in this process): a source
 * the store's client can read is copied in at registration, one uploaded later settles when the
 * version is next read, and one it cannot read stays PENDING_REGISTRATION saying why.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../../../src/config.js';
import { startServer, type RunningServer } from '../../../src/server/serve.js';
import { startS3Server, tempDir, type S3Server } from '../../helpers/services.js';
import { mlflowCaller } from './contract.js';

const ONNX = new URL('../../fixtures/models/mlflow_onnx/', import.meta.url);

describe('MLflow registry: s3:// sources through the S3 artifact store', () => {
  let s3: S3Server;
  let server: RunningServer;
  let raw: S3Client;
  let api: ReturnType<typeof mlflowCaller>;
  before(async () => {
    s3 = await startS3Server();
    const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
    server = await startServer(loadConfig({ data: tempDir('mpdata'), port: 0, logLevel: 'silent', artifacts: `s3://${s3.bucket}/store` }, env), { logger: false });
    raw = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    api = mlflowCaller(server.url);
    await api.ok('POST', '/registered-models/create', { name: 'from-s3' });
  });
  after(async () => {
    raw.destroy();
    await server.close();
    await s3.close();
  });

  const upload = async (prefix: string) => {
    for (const file of ['MLmodel', 'model.onnx']) {
      await raw.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${file}`, Body: readFileSync(new URL(file, ONNX)) }));
    }
  };
  // MLflow 2.17's client sends create_model_version as this JSON body (see registry-sources.json).
  const register = async (source: string) => (await api.ok('POST', '/model-versions/create', { name: 'from-s3', source })).model_version;
  const get = async (version: string) => (await api.ok('GET', '/model-versions/get', { name: 'from-s3', version })).model_version;

  test('a readable source is copied at registration and served', async () => {
    await upload('mlruns/1/abc/artifacts/model');
    const v = await register(`s3://${s3.bucket}/mlruns/1/abc/artifacts/model/`);
    assert.equal(v.status, 'READY', JSON.stringify(v));
    assert.equal(v.source, `s3://${s3.bucket}/mlruns/1/abc/artifacts/model/`);
    const files = (await fetch(`${server.url}/api/v1/registry/models/from-s3/versions/${v.version}`).then((r) => r.json())) as { flavor?: string };
    assert.equal(files.flavor, 'onnx', JSON.stringify(files));
  });

  test('a source uploaded after registration settles when the version is read', async () => {
    const v = await register(`s3://${s3.bucket}/later/model`);
    assert.equal(v.status, 'PENDING_REGISTRATION');
    assert.match(v.status_message, /waiting for files at 's3:\/\/.*\/later\/model': it holds none yet/);
    await upload('later/model');
    assert.equal((await get(v.version)).status, 'READY');
  });

  test('a bucket the store cannot read keeps the version pending, saying why', async () => {
    const v = await register('s3://no-such-bucket/model');
    assert.equal(v.status, 'PENDING_REGISTRATION');
    assert.match(v.status_message, /the configured S3 store cannot read s3:\/\/no-such-bucket\/model: NoSuchBucket/);
  });
});
