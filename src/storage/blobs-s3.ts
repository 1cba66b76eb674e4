/**
 * Blob store on S3 or any S3-compatible server. The hash is only known once the bytes have
 * streamed past, so an upload goes to PREFIX/tmp/<uuid> (multipart for large objects) and is
 * then copied server-side to PREFIX/objects/ab/<sha256>.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import {
  S3Client,
  HeadObjectCommand,
  GetObjectCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArtifactsUri } from '../config.js';
import { notFound, unavailable } from '../core/errors.js';
import { checkSha256, toAsyncIterable, verifying, type BlobInfo, type BlobSource, type BlobStore } from './blobs.js';

type S3Uri = Extract<ArtifactsUri, { kind: 's3' }>;

export async function openS3BlobStore(uri: S3Uri): Promise<BlobStore> {
  const client = new S3Client({
    region: uri.region,
    endpoint: uri.endpoint,
    forcePathStyle: uri.forcePathStyle,
    credentials: uri.credentials,
  });
  const key = (...parts: string[]) => [uri.prefix, ...parts].filter(Boolean).join('/');
  const objectKey = (sha256: string) => key('objects', checkSha256(sha256).slice(0, 2), sha256);
  const isMissing = (err: unknown) => {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
  };

  const store: BlobStore = {
    kind: 's3',

    async put(source: BlobSource): Promise<BlobInfo> {
      const tmpKey = key('tmp', randomUUID());
      const hash = createHash('sha256');
      let size = 0;
      const body = new PassThrough({ highWaterMark: 1 << 20 });
      const upload = new Upload({
        client,
        params: { Bucket: uri.bucket, Key: tmpKey, Body: body },
        partSize: 8 * 1024 * 1024,
        queueSize: 4,
      });
      const uploaded = upload.done();
      try {
        for await (const chunk of toAsyncIterable(source)) {
          hash.update(chunk);
          size += chunk.byteLength;
          if (!body.write(chunk)) await new Promise((resolve) => body.once('drain', resolve));
        }
        body.end();
        await uploaded;
      } catch (err) {
        body.destroy();
        await upload.abort().catch(() => undefined);
        await uploaded.catch(() => undefined);
        throw err;
      }
      const sha256 = hash.digest('hex');
      if (!(await store.stat(sha256))) {
        await client.send(
          new CopyObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256), CopySource: `${uri.bucket}/${encodeURI(tmpKey)}` }),
        );
      }
      await client.send(new DeleteObjectCommand({ Bucket: uri.bucket, Key: tmpKey }));
      return { sha256, size };
    },

    async get(sha256: string): Promise<Readable> {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
        return (res.Body as Readable).pipe(verifying(sha256));
      } catch (err) {
        if (isMissing(err)) throw notFound(`blob ${sha256} does not exist`);
        throw err;
      }
    },

    async stat(sha256: string): Promise<BlobInfo | null> {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
        return { sha256, size: res.ContentLength ?? 0 };
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },

    async delete(sha256: string): Promise<void> {
      await client.send(new DeleteObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
    },

    async *list(): AsyncIterable<string> {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: uri.bucket, Prefix: `${key('objects')}/`, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          const name = o.Key?.slice(o.Key.lastIndexOf('/') + 1) ?? '';
          if (/^[0-9a-f]{64}$/.test(name)) yield name;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async quarantine(sha256: string): Promise<void> {
      await client.send(new CopyObjectCommand({ Bucket: uri.bucket, Key: key('quarantine', sha256), CopySource: `${uri.bucket}/${encodeURI(objectKey(sha256))}` }));
      await client.send(new DeleteObjectCommand({ Bucket: uri.bucket, Key: objectKey(sha256) }));
    },

    async ping(): Promise<void> {
      try {
        await client.send(new HeadBucketCommand({ Bucket: uri.bucket }));
      } catch (err) {
        throw unavailable(`--artifacts: bucket ${uri.bucket} is not reachable: ${(err as Error).name ?? (err as Error).message}`);
      }
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
  return store;
}
